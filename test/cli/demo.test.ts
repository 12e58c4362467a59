/**
 * `pgveil demo` (what `npm start` runs), as a newcomer uses it: a bundled PostgreSQL reached over
 * SCRAM with a service account, psql as analyst sees masked values, Ctrl-C stops everything.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(__dirname, '../../dist/cli/pgveil.js');
let dir: string;
let demo: ChildProcess;
let output = '';
const port = 46432 + (process.pid % 1000);
const upstreamPort = port + 1000;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pgveil-demo-'));
  demo = spawn('node', [CLI, 'demo', '--dir', dir, '--port', String(port), '--upstream-port', String(upstreamPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!output.includes('PGPASSWORD=analyst psql')) {
    if (Date.now() > deadline || demo.exitCode !== null) throw new Error(`demo did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 90_000);

afterAll(() => {
  if (demo.exitCode === null) demo.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('prints the psql command, keeps its files in one folder, and masks for the analyst', async () => {
  expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(['audit', 'db', 'pgveil.yaml', 'policies.yaml', 'server.crt', 'server.key']));
  const { stdout } = await promisify(execFile)(
    'psql',
    [`host=127.0.0.1 port=${port} dbname=demo user=analyst sslmode=require`, '-X', '-At', '-c', 'SELECT id, email, region FROM customers ORDER BY id LIMIT 1'],
    { env: { ...process.env, PGPASSWORD: 'analyst' } },
  );
  expect(stdout).toBe('3|c********@example.com|EU\n');
});

test('Ctrl-C stops pgveil and the bundled PostgreSQL', async () => {
  const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
  demo.kill('SIGINT');
  expect(await exited).toBe(0);
  await expect(promisify(execFile)('pg_isready', ['-h', '127.0.0.1', '-p', String(upstreamPort)])).rejects.toMatchObject({ code: 2 });
}, 30_000);
