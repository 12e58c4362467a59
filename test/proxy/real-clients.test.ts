/** psql, pgbench and postgres.js through the proxy, exactly as they run against PostgreSQL. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { createTestDatabase, PG_HOST, PG_PORT, PG_SUPERUSER, type TestDatabase } from '../support/postgres';
import { startProxyHarness, type ProxyHarness } from '../support/proxy-harness';

const run = promisify(execFile);
let db: TestDatabase;
let proxy: ProxyHarness;

const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PGPASSWORD: 'analyst',
  PGSSLMODE: 'disable',
  PGCONNECT_TIMEOUT: '10',
});
const psql = (...args: string[]) =>
  run(
    'psql',
    [
      '-X',
      '-h',
      '127.0.0.1',
      '-p',
      String(proxy.port),
      '-U',
      'analyst',
      '-d',
      db.name,
      '-v',
      'ON_ERROR_STOP=1',
      ...args,
    ],
    { env: env() },
  );

beforeAll(async () => {
  db = await createTestDatabase('proxy_clients');
  await db.exec(
    `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL); INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace')`,
  );
  await run('pgbench', ['-i', '-q', '-s', '1', '-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_SUPERUSER, db.name]);
  proxy = await startProxyHarness(db.name);
});

afterAll(async () => {
  await proxy.stop();
  await db.drop();
});

test('psql runs a query, \\d, \\dt and \\copy ... to stdout', async () => {
  expect((await psql('-Atc', 'SELECT name FROM customers ORDER BY id')).stdout).toBe('Ada\nGrace\n');
  const describe = (await psql('-c', '\\d customers')).stdout;
  expect(describe).toContain('Table "public.customers"');
  expect(describe).toMatch(/name\s+\|\s+text/);
  expect((await psql('-c', '\\dt')).stdout).toMatch(/public \| customers\s+\| table/);
  expect((await psql('-c', '\\copy (SELECT id, name FROM customers ORDER BY id) to stdout')).stdout).toBe(
    '1\tAda\n2\tGrace\n',
  );
});

test.each(['simple', 'extended', 'prepared'])('pgbench -S in %s mode completes every transaction', async (mode) => {
  const { stdout } = await run(
    'pgbench',
    [
      '-S',
      '-n',
      '-c',
      '2',
      '-t',
      '50',
      '-M',
      mode,
      '-h',
      '127.0.0.1',
      '-p',
      String(proxy.port),
      '-U',
      'analyst',
      db.name,
    ],
    { env: env() },
  );
  expect(stdout).toMatch(/number of transactions actually processed: 100\/100/);
  expect(stdout).toMatch(/number of failed transactions: 0 /);
});

test('postgres.js pipelines queries on one connection', async () => {
  const sql = postgres({
    host: '127.0.0.1',
    port: proxy.port,
    user: 'analyst',
    password: 'analyst',
    database: db.name,
    max: 1,
    ssl: false,
  });
  try {
    const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => sql`SELECT ${n}::int * 10 AS v`));
    expect(answers.map((rows) => rows[0]!.v)).toEqual([10, 20, 30, 40, 50]);
    const names = await sql`SELECT name FROM customers WHERE id = ${2}`;
    expect(names[0]!.name).toBe('Grace');
  } finally {
    await sql.end();
  }
});
