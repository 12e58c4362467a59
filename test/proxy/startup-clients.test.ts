/**
 * Startup parameters as PostgreSQL takes them, through the whole product: asyncpg with its defaults
 * (a quoted client_encoding), settings in `options` from libpq (PGOPTIONS, the connection string),
 * pgJDBC and node-postgres, the startup's search_path as the value RESET returns to, and the
 * settings SET may not change refused at startup.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { Client } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';

const run = promisify(execFile);
let stack: Stack;

// Customer 3 is in region EU, which the analyst sees; its phone keeps only its last four digits.
const RAW_PHONE = '+1-555-0111';
const MASKED_PHONE = '*******0111';
const RAW_SSN = '757-03-0093';

beforeAll(async () => {
  stack = await startStack('proxy_startup', {
    extraSql:
      "CREATE SCHEMA reporting; CREATE TABLE reporting.regions (code text); INSERT INTO reporting.regions VALUES ('APAC'), ('EU'), ('US');",
  });
});

afterAll(async () => {
  await stack.stop();
});

test('asyncpg connects with its defaults and runs queries; its server_settings become the session settings', async () => {
  const { stdout } = await run(
    '/usr/bin/python3',
    [join(__dirname, 'clients', 'asyncpg_query.py'), String(stack.port), 'demo'],
    { timeout: 60_000 },
  );
  const seen = JSON.parse(stdout) as { row: { id: number; phone: string; ssn: string } } & Record<string, unknown>;
  expect(seen.row.id).toBe(3);
  expect(seen.row.phone).toBe(MASKED_PHONE);
  expect(seen.row.ssn).not.toBe(RAW_SSN);
  expect(stdout).not.toContain(RAW_SSN);
  expect(stdout).not.toContain(RAW_PHONE);
  expect(seen).toMatchObject({
    client_encoding: 'UTF8',
    search_path: 'reporting, public',
    statement_timeout: '5s',
    application_name: 'asyncpg-test',
    regions: ['APAC', 'EU', 'US'],
  });
}, 90_000);

const psql = (env: Record<string, string>, ...args: string[]) =>
  run('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', ...args], {
    env: { ...process.env, PGPASSWORD: 'analyst', PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10', ...env },
  });

test('PGOPTIONS carries settings that SET may change', async () => {
  const { stdout } = await psql(
    { PGOPTIONS: '-c statement_timeout=5s --search-path=reporting,public' },
    '-h',
    '127.0.0.1',
    '-p',
    String(stack.port),
    '-U',
    'analyst',
    '-d',
    'demo',
    '-c',
    'SHOW statement_timeout',
    '-c',
    'SHOW search_path',
    '-c',
    "SELECT string_agg(code, ',' ORDER BY code) FROM regions",
  );
  expect(stdout.trim().split('\n')).toEqual(['5s', 'reporting,public', 'APAC,EU,US']);
});

test("a connection string's options=-c search_path=... is the search_path RESET returns to", async () => {
  const conninfo = `host=127.0.0.1 port=${stack.port} user=analyst dbname=demo options='-c search_path=reporting,public'`;
  const { stdout } = await psql(
    {},
    '-d',
    conninfo,
    '-c',
    'SET search_path TO public',
    '-c',
    'RESET search_path',
    '-c',
    'SHOW search_path',
    '-c',
    "SELECT string_agg(code, ',' ORDER BY code) FROM regions",
  );
  expect(stdout.trim().split('\n')).toEqual(['SET', 'RESET', 'reporting,public', 'APAC,EU,US']);
});

test('pgJDBC options reach the session', async () => {
  const options = '-c search_path=reporting,public -c statement_timeout=5s';
  const { stdout } = await run(
    'java',
    [
      '-cp',
      '/usr/share/java/postgresql.jar',
      join(__dirname, 'clients', 'JdbcOptions.java'),
      String(stack.port),
      'demo',
      options,
    ],
    { timeout: 120_000 },
  );
  expect(stdout.trim().split('\n')).toEqual([
    'search_path: reporting,public',
    'statement_timeout: 5s',
    'regions: APAC,EU,US',
    `phone: ${MASKED_PHONE}`,
  ]);
}, 180_000);

test('the startup search_path decides which relation a name means, and masking follows it', async () => {
  const analyst = await stack.connect('analyst', '-c search_path=reporting,public');
  try {
    expect((await analyst.query('SELECT phone FROM customers WHERE id = 3')).rows).toEqual([{ phone: MASKED_PHONE }]);
    expect((await analyst.query('SHOW search_path')).rows).toEqual([{ search_path: 'reporting,public' }]);
  } finally {
    await analyst.end();
  }
});

async function startupError(options: string): Promise<{ code: string; message: string; severity: string }> {
  const c = new Client({
    host: '127.0.0.1',
    port: stack.port,
    user: 'analyst',
    password: 'analyst',
    database: 'demo',
    options,
  });
  c.on('error', () => undefined);
  const error = await c.connect().then(
    () => undefined,
    (e: { code: string; message: string; severity: string }) => e,
  );
  await c.end().catch(() => undefined);
  if (!error) throw new Error(`startup not refused: ${options}`);
  return { code: error.code, message: error.message, severity: error.severity };
}

test.each([
  [
    '-c session_replication_role=replica',
    '42501',
    'startup option "session_replication_role" is not allowed through pgveil',
  ],
  [
    '--default-transaction-deferrable=on',
    '42501',
    'startup option "default_transaction_deferrable" is not allowed through pgveil',
  ],
  ['-c client_encoding=SJIS', '22023', 'client_encoding "SJIS" is not supported through pgveil: use UTF8'],
  ['-c search_path=public,pg_catalog', '42501', 'search_path must not place pg_catalog after other schemas'],
  ['-e', '42501', 'startup option "-e" is not allowed through pgveil'],
  ['-c statement_timeout', '42601', 'startup option "statement_timeout" requires a value'],
])('options %j is refused at startup', async (options, code, message) => {
  expect(await startupError(options)).toEqual({ code, message, severity: 'FATAL' });
});
