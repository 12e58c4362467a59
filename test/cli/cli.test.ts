/** The command line as a user runs it: the built `dist/cli/pgveil.js` (npm test builds first). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { writeFileSync, readFileSync } from 'node:fs';
import { parseScramVerifier, ScramClientExchange, ScramServerExchange } from '../../proxy/auth/scram';
import { startStack, type Stack } from '../support/pgveil-stack';

const run = promisify(execFile);
const CLI = join(__dirname, '../../dist/cli/pgveil.js');
const pgveil = (...args: string[]) => run('node', [CLI, ...args]);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('cli');
});
afterAll(() => stack.stop());

test('--help lists the commands', async () => {
  const { stdout } = await pgveil('--help');
  for (const command of ['serve', 'demo', 'explain', 'user', 'audit'])
    expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
});

test('user verifier makes a verifier that a SCRAM exchange accepts for that password only', async () => {
  const child = execFile('node', [CLI, 'user', 'verifier']);
  child.stdin!.end('s3cret\n');
  const out = await new Promise<string>((resolve) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    child.on('close', () => resolve(text));
  });
  const verifier = parseScramVerifier(out.trim());
  expect(verifier).toBeDefined();
  const exchange = (password: string): string | undefined => {
    const client = new ScramClientExchange(password);
    const server = new ScramServerExchange(verifier!);
    const serverFirst = server.clientFirst(client.clientFirst());
    return server.clientFinal(client.clientFinal(serverFirst));
  };
  expect(exchange('s3cret')).toMatch(/^v=/);
  expect(exchange('secret')).toBeUndefined();
});

test('explain prints the rewrite and its rules, or the refusal with exit code 2', async () => {
  const config = join(stack.dir, 'pgveil.yaml');
  const { stdout } = await pgveil('explain', '--config', config, '--user', 'analyst', 'SELECT email FROM customers');
  expect(stdout).toContain('rewritten (protected: public.customers)');
  expect(stdout).toContain('mask-pii (global) email: mask_email');
  expect(stdout).toContain('sales-region-rows (domain): filter rows');
  await expect(
    pgveil('explain', '--config', config, '--user', 'analyst', 'DROP TABLE customers'),
  ).rejects.toMatchObject({
    code: 2,
    stdout: expect.stringContaining('refused (SQLSTATE 42501): drop statements are not allowed through pgveil'),
  });
});

test('audit verify accepts the live log and rejects an edited copy', async () => {
  const c = await stack.connect('analyst');
  await c.query('SELECT 1');
  await c.end();
  const ok = await pgveil('audit', 'verify', stack.auditFile);
  expect(ok.stdout).toMatch(/^ok: \d+ records, chain intact/);
  const copy = join(stack.dir, 'edited.jsonl');
  writeFileSync(copy, readFileSync(stack.auditFile, 'utf8').replace('"rows":1', '"rows":0'));
  await expect(pgveil('audit', 'verify', copy)).rejects.toMatchObject({
    code: 1,
    stdout: expect.stringContaining('record was edited'),
  });
});

test('an invalid configuration names the file, the line and the key', async () => {
  const bad = join(stack.dir, 'bad.yaml');
  writeFileSync(bad, 'policies: [ policies.yaml ]\nlisten:\n  host: 127.0.0.1\n  port: "many"\n');
  await expect(pgveil('serve', '--config', bad)).rejects.toMatchObject({
    stderr: expect.stringContaining(`${bad}:4: listen.port: must be integer`),
  });
});
