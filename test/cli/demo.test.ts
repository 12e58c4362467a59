/**
 * `pgveil demo` (what `npm start` runs), as a newcomer uses it: a bundled PostgreSQL reached over
 * SCRAM with a service account, psql as analyst sees masked values, Ctrl-C stops everything. A
 * failed first start says why and leaves no database behind; flags given again on the directory
 * are applied; a directory from an older pgveil is upgraded or refused with what to do.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(__dirname, '../../dist/cli/pgveil.js');
let dir: string;
let demo: ChildProcess;
let output = '';
// Below the kernel's ephemeral range (32768-60999), so no outgoing connection of another test
// can hold these ports when the demo binds them.
const port = 27432 + (process.pid % 1000);
const upstreamPort = port + 1000;

/** Starts `pgveil demo` on `dir` and waits for its psql line; the output so far is in `output`. */
async function startDemo(args: readonly string[]): Promise<void> {
  output = '';
  demo = spawn('node', [CLI, 'demo', '--dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!output.includes('PGPASSWORD=analyst psql')) {
    if (Date.now() > deadline || demo.exitCode !== null) throw new Error(`demo did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopDemo(): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
  demo.kill('SIGINT');
  return exited;
}

/** A demo run expected to fail: its exit code and everything it wrote. */
async function failedDemo(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn('node', [CLI, 'demo', '--dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output: text };
}

const psql = (p: number, sql: string): Promise<{ stdout: string }> =>
  promisify(execFile)(
    'psql',
    [`host=127.0.0.1 port=${p} dbname=demo user=analyst sslmode=require`, '-X', '-At', '-c', sql],
    { env: { ...process.env, PGPASSWORD: 'analyst' } },
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pgveil-demo-'));
  // A first start whose database port is taken fails with PostgreSQL's own words, and leaves no
  // half-made database that a later start would take for a finished one.
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(upstreamPort, '127.0.0.1', resolve));
  try {
    const failed = await failedDemo(['--port', String(port), '--upstream-port', String(upstreamPort)]);
    expect(failed.code).toBe(1);
    expect(failed.output).toContain(
      `pgveil: the bundled PostgreSQL did not start on 127.0.0.1:${upstreamPort}: could not bind IPv4 address "127.0.0.1": Address already in use`,
    );
    expect(failed.output).toContain('start the demo with --upstream-port <another port>');
    expect(existsSync(join(dir, 'db'))).toBe(false);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
  await startDemo(['--port', String(port), '--upstream-port', String(upstreamPort)]);
}, 120_000);

afterAll(() => {
  if (demo.exitCode === null) demo.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('prints the psql command, keeps its files in one folder, and masks for the analyst', async () => {
  expect(readdirSync(dir).sort()).toEqual(
    expect.arrayContaining(['audit', 'db', 'pgveil.yaml', 'policies.yaml', 'server.crt', 'server.key']),
  );
  const { stdout } = await promisify(execFile)(
    'psql',
    [
      `host=127.0.0.1 port=${port} dbname=demo user=analyst sslmode=require`,
      '-X',
      '-At',
      '-c',
      'SELECT id, email, region FROM customers ORDER BY id LIMIT 1',
    ],
    { env: { ...process.env, PGPASSWORD: 'analyst' } },
  );
  expect(stdout).toBe('3|c********@example.com|EU\n');
});

test("the bundled PostgreSQL is the machine's psql's major version: \\l and \\d work", async () => {
  const { stdout: server } = await psql(port, 'SHOW server_version_num');
  const { stdout: client } = await promisify(execFile)('psql', ['--version']);
  expect(server.slice(0, 2)).toBe('15');
  expect(client).toMatch(/^psql \(PostgreSQL\) 15\./);
  expect((await psql(port, '\\l')).stdout).toContain('demo|');
  expect((await psql(port, '\\d customers')).stdout).toContain('ssn|text|');
  // pg_dump 15 too, and the analyst's dump holds what the analyst sees.
  const { stdout: dump } = await promisify(execFile)(
    'pg_dump',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      'analyst',
      '-d',
      'demo',
      '--exclude-schema=pgveil',
      '--no-subscriptions',
      '--no-blobs',
      '-t',
      'customers',
    ],
    { env: { ...process.env, PGPASSWORD: 'analyst', PGSSLMODE: 'require' }, maxBuffer: 64 * 1024 * 1024 },
  );
  expect(dump).toContain('\n3\tEdsger Lovelace\tc********@example.com\t');
  expect(dump).not.toContain('customer3@example.com');
  expect(dump).not.toMatch(/\tUS\t/);
});

test('Ctrl-C stops pgveil and the bundled PostgreSQL', async () => {
  expect(await stopDemo()).toBe(0);
  await expect(
    promisify(execFile)('pg_isready', ['-h', '127.0.0.1', '-p', String(upstreamPort)]),
  ).rejects.toMatchObject({ code: 2 });
}, 30_000);

test("pgveil's port in use: the real reason, and the next start serves the same demo", async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
  try {
    const failed = await failedDemo([]);
    expect(failed.code).toBe(1);
    expect(failed.output).toContain(
      `pgveil: pgveil cannot listen on 127.0.0.1:${port}, which something else uses: stop it, or start the demo with --port <another port>`,
    );
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
  // The ports come from the directory's files when no flag is given.
  await startDemo([]);
  expect((await psql(port, 'SELECT count(*) FROM customers')).stdout).toBe('333\n');
  expect(await stopDemo()).toBe(0);
}, 90_000);

test('flags on an existing directory are applied, and an older policies.yaml gets the tag taxonomy it lacks', async () => {
  const policies = join(dir, 'policies.yaml');
  const older = readFileSync(policies, 'utf8').replace(/^tags: .*\n/m, '');
  writeFileSync(policies, older);
  const moved = port + 7;
  await startDemo(['--port', String(moved)]);
  expect(output).toContain(
    `pgveil demo: ${policies} was written by an older pgveil without a tag taxonomy: added "tags: [pii.name, pii.email, pii.ssn, pii.phone, pii.birth_date, finance.card]" at its top`,
  );
  expect(output).toContain(
    `pgveil demo: --port ${moved}: listen.port in ${join(dir, 'pgveil.yaml')} changed from ${port}`,
  );
  expect(output).toContain(`pgveil demo is running on 127.0.0.1:${moved}`);
  expect((await psql(moved, 'SELECT id, email FROM customers ORDER BY id LIMIT 1')).stdout).toBe(
    '3|c********@example.com\n',
  );
  expect(readFileSync(join(dir, 'pgveil.yaml'), 'utf8')).toContain(`listen: { host: 127.0.0.1, port: ${moved} }`);
  expect(await stopDemo()).toBe(0);
}, 90_000);

test('a database made by another PostgreSQL major version is refused with what to do', async () => {
  const version = join(dir, 'db', 'PG_VERSION');
  writeFileSync(version, '17\n');
  try {
    const failed = await failedDemo([]);
    expect(failed.code).toBe(1);
    expect(failed.output).toContain(
      `pgveil: the demo database in ${join(dir, 'db')} was made by PostgreSQL 17 (an older pgveil), and this pgveil bundles PostgreSQL 15, which cannot open it. Remove that directory (rm -rf ${join(dir, 'db')}) and start again`,
    );
  } finally {
    writeFileSync(version, '15\n');
  }
}, 30_000);
