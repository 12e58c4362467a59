/**
 * Prepared statements of real clients in transaction pooling (#17, point 2), on a pool of ONE
 * upstream connection: for each client an analyst (e-mail masked, SSN hashed, EU rows only) and a
 * steward (raw values, every region) interleave their prepared statements, and every answer is
 * checked against a canary row. node-postgres named statements, postgres.js (prepares by default),
 * pgJDBC with prepareThreshold=1, asyncpg (named statements and Describe) and pgbench -M prepared
 * with several clients, and psycopg 3 with prepare=True (Debian's python3-psycopg, from .ci/run).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Client } from 'pg';
import postgres from 'postgres';
import type { Stack } from '../support/pgveil-stack';
import { startPooledStack, type PooledStack } from '../support/pooled-stack';

const run = promisify(execFile);
const CANARY = { id: 900003, email: 'canary.clients@example.com', ssn: '900-00-0003' };
/** mask_email keeps the first letter and the domain. */
const MASKED_EMAIL = /^c\*+@example\.com$/;
const HASHED = /^[0-9a-f]{64}$/;

let stack: Stack;
let superuser: Client;
let pooled: PooledStack;
/** Rows per region as the database holds them (the analyst sees EU rows only). */
let rowsIn: Record<string, number>;

beforeAll(async () => {
  pooled = await startPooledStack(
    'pgveil_pool_clients',
    { size: 1, waitTimeoutMs: 5000 },
    { id: CANARY.id, name: 'Canary Clients', email: CANARY.email, ssn: CANARY.ssn, phone: '+1 555 0103' },
  );
  ({ stack, superuser } = pooled);
  const { rows } = await superuser.query('SELECT region, count(*)::int AS n FROM customers GROUP BY region');
  rowsIn = Object.fromEntries(rows.map((r: { region: string; n: number }) => [r.region, r.n]));
}, 60_000);

afterAll(async () => {
  await pooled?.stop();
});

const serviceConnections = (): Promise<number> => pooled.serviceConnections();

test('node-postgres: named statements of two sessions, one after the other and at once', async () => {
  const analyst = await stack.connect('analyst');
  const steward = await stack.connect('steward');
  try {
    const byId = { name: 'by_id', text: 'SELECT email, ssn FROM customers WHERE id = $1', values: [CANARY.id] };
    const byRegion = { name: 'by_region', text: 'SELECT count(*)::int AS n FROM customers WHERE region = $1' };
    for (let i = 0; i < 3; i++) {
      const a = (await analyst.query(byId)).rows[0];
      const s = (await steward.query(byId)).rows[0];
      expect(a.email).toMatch(MASKED_EMAIL);
      expect(a.ssn).toMatch(HASHED);
      expect(s).toEqual({ email: CANARY.email, ssn: CANARY.ssn });
      expect((await analyst.query({ ...byRegion, values: ['US'] })).rows).toEqual([{ n: 0 }]);
      expect((await steward.query({ ...byRegion, values: ['US'] })).rows).toEqual([{ n: rowsIn.US }]);
    }
    // Both sessions' statements queued at once on the pool's only connection.
    const together = await Promise.all(
      [analyst, steward, analyst, steward].map(async (c) => (await c.query(byId)).rows[0].email as string),
    );
    expect(together[0]).toMatch(MASKED_EMAIL);
    expect(together[1]).toBe(CANARY.email);
    expect(together[2]).toMatch(MASKED_EMAIL);
    expect(together[3]).toBe(CANARY.email);
    expect(await serviceConnections()).toBe(1);
  } finally {
    await analyst.end();
    await steward.end();
  }
});

test('postgres.js: two instances with prepared statements (its default), interleaved and at once', async () => {
  const open = (user: 'analyst' | 'steward') =>
    postgres({ host: '127.0.0.1', port: stack.port, user, password: user, database: 'demo', max: 1, ssl: false });
  const analyst = open('analyst');
  const steward = open('steward');
  try {
    const byId = (sql: postgres.Sql) => sql`SELECT email, ssn FROM customers WHERE id = ${CANARY.id}`;
    const count = (sql: postgres.Sql, region: string) =>
      sql`SELECT count(*)::int AS n FROM customers WHERE region = ${region}`;
    for (let i = 0; i < 3; i++) {
      const [a] = await byId(analyst);
      const [s] = await byId(steward);
      expect(a!.email).toMatch(MASKED_EMAIL);
      expect(a!.ssn).toMatch(HASHED);
      expect({ ...s }).toEqual({ email: CANARY.email, ssn: CANARY.ssn });
    }
    const answers = await Promise.all([
      count(analyst, 'EU'),
      count(steward, 'EU'),
      count(analyst, 'US'),
      byId(steward),
    ]);
    expect(answers.map((rows) => ({ ...rows[0] }))).toEqual([
      { n: rowsIn.EU },
      { n: rowsIn.EU },
      { n: 0 },
      { email: CANARY.email, ssn: CANARY.ssn },
    ]);
    // A transaction's sql has the same tagged template (its type lacks only the pool's methods).
    const [email, apac] = await analyst.begin(async (tx) => {
      const sql = tx as unknown as postgres.Sql;
      return [(await byId(sql))[0]!.email as string, (await count(sql, 'APAC'))[0]!.n as number];
    });
    expect(email).toMatch(MASKED_EMAIL);
    expect(apac).toBe(0);
  } finally {
    await analyst.end();
    await steward.end();
  }
});

test('pgJDBC with prepareThreshold=1: server-prepared statements of two sessions interleaved', async () => {
  const { stdout } = await run(
    'java',
    [
      '-cp',
      '/usr/share/java/postgresql.jar',
      join(__dirname, 'clients', 'PoolJdbcInterleave.java'),
      String(stack.port),
      'demo',
      String(CANARY.id),
    ],
    { timeout: 120_000 },
  );
  const lines = stdout.trim().split('\n');
  expect(lines).not.toContainEqual(expect.stringMatching(/^error/));
  expect(lines).toHaveLength(11);
  for (let i = 0; i < 4; i++) {
    const [email, ssn, us] = lines[2 * i]!.replace(`analyst ${i}: `, '').split(' ');
    expect(email).toMatch(MASKED_EMAIL);
    expect(ssn).toMatch(HASHED);
    expect(us).toBe('0');
    expect(lines[2 * i + 1]).toBe(`steward ${i}: ${CANARY.email} ${CANARY.ssn} ${rowsIn.US}`);
  }
  expect(lines[8]).toMatch(new RegExp(`^analyst tx: c\\*+@example\\.com [0-9a-f]{64} ${rowsIn.EU}$`));
  expect(lines[9]).toBe(`steward tx: ${CANARY.email} ${CANARY.ssn} ${rowsIn.EU}`);
  expect(lines[10]).toBe('server-prepared: true true');
}, 180_000);

test('psycopg 3: prepare=True statements of two sessions, in turn and in a transaction', async () => {
  const { stdout } = await run(
    '/usr/bin/python3',
    [join(__dirname, 'clients', 'pool_psycopg_interleave.py'), String(stack.port), 'demo', String(CANARY.id)],
    { timeout: 60_000 },
  );
  const seen = JSON.parse(stdout) as {
    analyst: Array<[string, string]>;
    steward: Array<[string, string]>;
    prepared_names: string[];
    analyst_tx: [string, string];
  };
  expect(seen).not.toHaveProperty('error');
  expect(seen.analyst).toHaveLength(3);
  for (const [email, ssn] of [...seen.analyst, seen.analyst_tx]) {
    expect(email).toMatch(MASKED_EMAIL);
    expect(ssn).toMatch(HASHED);
  }
  expect(seen.steward).toEqual(Array(3).fill([CANARY.email, CANARY.ssn]));
  // psycopg really prepared it server-side (otherwise the test would not exercise named statements).
  expect(seen.prepared_names).toEqual(['_pg3_0']);
  expect(await serviceConnections()).toBe(1);
}, 90_000);

const asyncpg = async (mode: 'queries' | 'prepare'): Promise<Record<string, unknown>> => {
  const { stdout } = await run(
    '/usr/bin/python3',
    [join(__dirname, 'clients', 'pool_asyncpg_interleave.py'), String(stack.port), 'demo', String(CANARY.id), mode],
    { timeout: 60_000 },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
};

test('asyncpg: queries with arguments (named statements with Describe) of two sessions, in turn and at once', async () => {
  const seen = (await asyncpg('queries')) as {
    analyst: Array<[string, string, number]>;
    steward: Array<[string, string, number]>;
    together: string[];
    analyst_tx: number;
  };
  expect(seen).not.toHaveProperty('error');
  expect(seen.analyst).toHaveLength(3);
  for (const [email, ssn, us] of seen.analyst) {
    expect(email).toMatch(MASKED_EMAIL);
    expect(ssn).toMatch(HASHED);
    expect(us).toBe(0);
  }
  expect(seen.steward).toEqual(Array(3).fill([CANARY.email, CANARY.ssn, rowsIn.US]));
  expect(seen.together[0]).toMatch(MASKED_EMAIL);
  expect(seen.together[1]).toBe(CANARY.email);
  expect(seen.together[2]).toMatch(MASKED_EMAIL);
  expect(seen.together[3]).toBe(CANARY.email);
  expect(seen.analyst_tx).toBe(rowsIn.EU);
}, 90_000);

// asyncpg's prepare() sends Parse, Describe and Flush, and its Sync only with the statement's first
// run: pgveil must not keep the pool's only connection lent to a session that merely prepared.
test('asyncpg: prepare() in one session, then in another, then both run (a pool of one)', async () => {
  const seen = (await asyncpg('prepare')) as { analyst: string[][]; steward: string[][]; columns: string[] };
  expect(seen).not.toHaveProperty('error');
  expect(seen.columns).toEqual(['email', 'ssn']);
  for (const [email, ssn] of seen.analyst) {
    expect(email).toMatch(MASKED_EMAIL);
    expect(ssn).toMatch(HASHED);
  }
  expect(seen.steward).toEqual([
    [CANARY.email, CANARY.ssn],
    [CANARY.email, CANARY.ssn],
  ]);
}, 90_000);

/**
 * Each transaction fails (division by zero) when a session sees what it must not, or misses what
 * it must see: pgbench then counts failed transactions and exits non-zero.
 */
const PGBENCH_SCRIPTS = {
  analyst: [
    '\\set id random(1, 1000)',
    'SELECT email, ssn FROM customers WHERE id = :id;',
    `SELECT 1 / (count(*) = 0)::int FROM customers WHERE region <> 'EU' OR email = '${CANARY.email}';`,
    `SELECT 1 / (count(*) = 1)::int FROM customers WHERE id = ${CANARY.id} AND email <> '${CANARY.email}';`,
  ],
  steward: [
    '\\set id random(1, 1000)',
    'SELECT email, ssn FROM customers WHERE id = :id;',
    `SELECT 1 / (count(*) = 1)::int FROM customers WHERE email = '${CANARY.email}' AND ssn = '${CANARY.ssn}';`,
    "SELECT 1 / (count(*) = 1)::int FROM customers WHERE region = 'US' AND id = 1;",
  ],
};

test('pgbench -M prepared: four clients of each principal at once, every transaction done and right', async () => {
  const bench = async (user: 'analyst' | 'steward') => {
    const script = join(stack.dir, `${user}.pgbench.sql`);
    writeFileSync(script, PGBENCH_SCRIPTS[user].join('\n') + '\n');
    return run(
      'pgbench',
      [
        '-n',
        '-M',
        'prepared',
        '-c',
        '4',
        '-t',
        '50',
        '-f',
        script,
        '-h',
        '127.0.0.1',
        '-p',
        String(stack.port),
        '-U',
        user,
        'demo',
      ],
      { env: { ...process.env, PGPASSWORD: user, PGSSLMODE: 'disable' }, timeout: 120_000 },
    );
  };
  const [analyst, steward] = await Promise.all([bench('analyst'), bench('steward')]);
  for (const { stdout } of [analyst, steward]) {
    expect(stdout).toMatch(/number of transactions actually processed: 200\/200/);
    expect(stdout).toMatch(/number of failed transactions: 0 /);
  }
  // One audit record per statement, each with the principal that ran it and no error (written
  // in the background: wait for them, a bounded while).
  const audited = await auditedRuns('SELECT email, ssn FROM customers WHERE id = $1;', 400);
  expect(audited.filter((r) => r.user === 'analyst' && !r.error)).toHaveLength(200);
  expect(audited.filter((r) => r.user === 'steward' && !r.error)).toHaveLength(200);
  expect(await serviceConnections()).toBe(1);
}, 180_000);

async function auditedRuns(statement: string, expected: number): Promise<Array<{ user: string; error: unknown }>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const records = readFileSync(stack.auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { user: string; statement: string; error: unknown })
      .filter((r) => r.statement === statement);
    if (records.length >= expected || Date.now() > deadline) return records;
    await new Promise((r) => setTimeout(r, 50));
  }
}
