/**
 * Transaction pooling through the real proxy on the machine's PostgreSQL: two principals with
 * different policies and settings interleaved on a pool of one upstream connection. Every answer,
 * prepared statement and setting is checked, and the service account never holds more than one
 * connection.
 */
import type { Client } from 'pg';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Stack } from '../support/pgveil-stack';
import { startPooledStack, type PooledStack } from '../support/pooled-stack';
import { PG_HOST, PG_PORT } from '../support/postgres';

let pooled: PooledStack;
let stack: Stack;

beforeAll(async () => {
  pooled = await startPooledStack(
    'pgveil_pool',
    { size: 1, waitTimeoutMs: 1500 },
    { id: 900001, name: 'Canary Pool', email: 'canary.pool@example.com', ssn: '900-00-0001', phone: '+1 555 0100' },
  );
  ({ stack } = pooled);
}, 60_000);

afterAll(async () => {
  await pooled?.stop();
});

const serviceConnections = (): Promise<number> => pooled.serviceConnections();

const canary = 'SELECT email, ssn FROM customers WHERE id = 900001';

test('two principals on one upstream connection each get their own decision, every time', async () => {
  const analyst = await stack.connect('analyst');
  const steward = await stack.connect('steward');
  try {
    for (let i = 0; i < 5; i++) {
      const a = await analyst.query(canary);
      const s = await steward.query(canary);
      expect(a.rows[0].email).not.toContain('canary.pool');
      expect(a.rows[0].ssn).not.toBe('900-00-0001');
      expect(s.rows[0]).toEqual({ email: 'canary.pool@example.com', ssn: '900-00-0001' });
    }
    expect(await serviceConnections()).toBe(1);
  } finally {
    await analyst.end();
    await steward.end();
  }
});

test('settings follow each client, not the connection: SET, startup options, RESET, ROLLBACK', async () => {
  const analyst = await stack.connect('analyst', '-c TimeZone=Asia/Tokyo');
  const steward = await stack.connect('steward');
  const show = async (c: Client, name: string): Promise<string> =>
    Object.values((await c.query(`SHOW ${name}`)).rows[0] as Record<string, string>)[0]!;
  try {
    expect(await show(analyst, 'timezone')).toBe('Asia/Tokyo');
    const serverZone = await show(steward, 'timezone');
    expect(serverZone).not.toBe('Asia/Tokyo');
    await steward.query("SET TimeZone = 'Europe/Paris'");
    await steward.query("SET application_name = 'steward-tool'");
    expect(await show(analyst, 'timezone')).toBe('Asia/Tokyo');
    expect(await show(analyst, 'application_name')).toBe('');
    expect(await show(steward, 'timezone')).toBe('Europe/Paris');
    expect(await show(steward, 'application_name')).toBe('steward-tool');
    // A SET rolled back leaves nothing behind, on the client or on the connection.
    await analyst.query('BEGIN');
    await analyst.query('SET statement_timeout = 1234');
    await analyst.query('ROLLBACK');
    expect(await show(analyst, 'statement_timeout')).toBe('0');
    // SET LOCAL ends with its transaction.
    await steward.query('BEGIN');
    await steward.query("SET LOCAL TimeZone = 'UTC'");
    expect(await show(steward, 'timezone')).toBe('UTC');
    await steward.query('COMMIT');
    expect(await show(steward, 'timezone')).toBe('Europe/Paris');
    // RESET returns to what the client started with, not to the server's default.
    await analyst.query("SET TimeZone = 'America/Lima'");
    expect(await show(steward, 'timezone')).toBe('Europe/Paris');
    expect(await show(analyst, 'timezone')).toBe('America/Lima');
    await analyst.query('RESET TimeZone');
    expect(await show(steward, 'timezone')).toBe('Europe/Paris');
    expect(await show(analyst, 'timezone')).toBe('Asia/Tokyo');
    await steward.query('RESET ALL');
    expect(await show(steward, 'timezone')).toBe(serverZone);
    expect(await show(steward, 'application_name')).toBe('');
    // search_path is tracked by pgveil's decisions and by the pool.
    await analyst.query('SET search_path = pg_catalog');
    await expect(analyst.query('SELECT email FROM customers LIMIT 1')).rejects.toMatchObject({ code: '42P01' });
    expect((await steward.query('SELECT count(*) > 0 AS ok FROM customers')).rows[0].ok).toBe(true);
  } finally {
    await analyst.end();
    await steward.end();
  }
});

test('named prepared statements of two clients: same name, other texts; same text, other decisions', async () => {
  const analyst = await stack.connect('analyst');
  const steward = await stack.connect('steward');
  try {
    const q = { name: 'by_id', text: 'SELECT email FROM customers WHERE id = $1', values: [900001] };
    const other = { name: 'by_id', text: 'SELECT ssn AS email FROM customers WHERE id = $1', values: [900001] };
    for (let i = 0; i < 3; i++) {
      const a = await analyst.query(q);
      const s = await steward.query(other);
      expect(a.rows[0].email).not.toContain('canary.pool');
      expect(s.rows[0].email).toBe('900-00-0001');
    }
    const sameText = { name: 'emails', text: 'SELECT email FROM customers WHERE id = $1', values: [900001] };
    expect((await steward.query(sameText)).rows[0].email).toBe('canary.pool@example.com');
    expect((await analyst.query(sameText)).rows[0].email).not.toContain('canary.pool');
    expect((await steward.query(sameText)).rows[0].email).toBe('canary.pool@example.com');
  } finally {
    await analyst.end();
    await steward.end();
  }
});

test("SQL cannot reach another client's statement by its upstream name", async () => {
  const steward = await stack.connect('steward');
  const analyst = await stack.connect('analyst');
  try {
    await steward.query({ name: 'raw', text: canary });
    await expect(analyst.query('EXECUTE pgveil_anything')).rejects.toMatchObject({
      code: '26000',
      message: 'prepared statement "pgveil_anything" does not exist',
    });
    await expect(analyst.query('DEALLOCATE pgveil_anything')).rejects.toMatchObject({ code: '26000' });
  } finally {
    await analyst.end();
    await steward.end();
  }
});

test('a client that waits longer than waitTimeoutMs gets 53300; the one holding the connection is unaffected', async () => {
  const holder = await stack.connect('steward');
  const waiter = await stack.connect('analyst');
  waiter.on('error', () => undefined);
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT 1');
    await expect(waiter.query('SELECT 1')).rejects.toMatchObject({ code: '53300' });
    expect((await holder.query(canary)).rows[0].ssn).toBe('900-00-0001');
    await holder.query('COMMIT');
  } finally {
    await holder.end();
    await waiter.end().catch(() => undefined);
  }
  const after = await stack.connect('analyst');
  expect((await after.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  await after.end();
});

describe('what outlives a transaction pins the connection to its client until the session ends', () => {
  test.each([
    ['SQL PREPARE', 'PREPARE mine AS SELECT 1', 'EXECUTE mine'],
    [
      'a cursor WITH HOLD',
      'DECLARE held CURSOR WITH HOLD FOR SELECT id FROM customers ORDER BY id',
      'FETCH 1 FROM held',
    ],
    ['a session-level advisory lock', 'SELECT pg_advisory_lock(4242)', 'SELECT pg_advisory_unlock(4242)'],
  ])('%s', async (_what, pin, use) => {
    const owner = await stack.connect('steward');
    const other = await stack.connect('analyst');
    other.on('error', () => undefined);
    try {
      await owner.query(pin);
      // The one connection stays with its owner: the other client waits, then gets 53300.
      await expect(other.query('SELECT 1')).rejects.toMatchObject({ code: '53300' });
      expect((await owner.query(use)).rowCount).toBe(1);
    } finally {
      await owner.end();
      await other.end().catch(() => undefined);
    }
    // The owner left: its connection was closed (its state cannot be handed on) and a new one serves.
    const next = await stack.connect('analyst');
    await expect(next.query('EXECUTE mine')).rejects.toMatchObject({ code: '26000' });
    expect((await next.query('SELECT pg_try_advisory_xact_lock(4242) AS got')).rows[0].got).toBe(true);
    await next.end();
  });

  test('once the prepared statement is deallocated and the held cursor closed, the connection may go back', async () => {
    const owner = await stack.connect('steward');
    const other = await stack.connect('analyst');
    try {
      await owner.query('PREPARE gone AS SELECT 1; EXECUTE gone; DEALLOCATE gone');
      await owner.query('DECLARE passing CURSOR WITH HOLD FOR SELECT 1; FETCH 1 FROM passing');
      await owner.query('CLOSE passing');
      expect((await other.query('SELECT 2 AS two')).rows[0].two).toBe(2);
      expect(await serviceConnections()).toBe(1);
    } finally {
      await owner.end();
      await other.end();
    }
  });

  test('a transaction-level advisory lock does not pin', async () => {
    const a = await stack.connect('steward');
    const b = await stack.connect('analyst');
    try {
      expect((await a.query('SELECT pg_try_advisory_xact_lock(4343) AS got')).rows[0].got).toBe(true);
      expect((await b.query('SELECT pg_try_advisory_xact_lock(4343) AS got')).rows[0].got).toBe(true);
      expect(await serviceConnections()).toBe(1);
    } finally {
      await a.end();
      await b.end();
    }
  });

  test('LISTEN is refused whether or not the data product is pooled', async () => {
    const a = await stack.connect('analyst');
    try {
      await expect(a.query('LISTEN news')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await a.end();
    }
  });
});

test('the pool is in the metrics: connections lent and idle, clients waiting; pooled sessions hold no connection of their own', async () => {
  const a = await stack.connect('analyst');
  try {
    await a.query('BEGIN');
    await a.query('SELECT 1');
    const during = await stack.pgveil.metrics.registry.metrics();
    const upstream = `${PG_HOST}:${PG_PORT}/${stack.db.name}`;
    expect(during).toContain(`pgveil_pool_connections{upstream="${upstream}",state="lent"} 1`);
    expect(during).toContain(`pgveil_pool_connections{upstream="${upstream}",state="idle"} 0`);
    expect(during).toContain(`pgveil_pool_waiting_clients{upstream="${upstream}"} 0`);
    expect(during).toContain('pgveil_upstream_connections 0');
    await a.query('COMMIT');
    const after = await stack.pgveil.metrics.registry.metrics();
    expect(after).toContain(`pgveil_pool_connections{upstream="${upstream}",state="idle"} 1`);
  } finally {
    await a.end();
  }
});

test('the statements a shared connection holds are not readable: pg_prepared_statements, pg_cursors and their functions', async () => {
  const steward = await stack.connect('steward');
  const analyst = await stack.connect('analyst');
  try {
    await steward.query({
      name: 'secret_lookup',
      text: "SELECT ssn FROM customers WHERE email = 'canary.pool@example.com'",
    });
    for (const sql of [
      'SELECT statement FROM pg_prepared_statements',
      'SELECT statement FROM pg_catalog.pg_cursors',
      'SELECT * FROM pg_prepared_statement()',
      'SELECT * FROM pg_cursor()',
    ])
      await expect(analyst.query(sql)).rejects.toMatchObject({ code: '42501' });
  } finally {
    await analyst.end();
    await steward.end();
  }
});

test('a reload that changes the pool settings replaces the pool: sessions connected before it go on, on the new one', async () => {
  const original = readFileSync(stack.policiesFile, 'utf8');
  const a = await stack.connect('analyst');
  try {
    expect((await a.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    writeFileSync(stack.policiesFile, original.replace('size: 1, waitTimeoutMs: 1500', 'size: 2, waitTimeoutMs: 1500'));
    expect(stack.pgveil.policies.reload()).toBe(true);
    expect((await a.query(canary)).rows[0].ssn).not.toBe('900-00-0001');
    // Two connections now: a second client is served while the first holds one in a transaction.
    const b = await stack.connect('steward');
    await a.query('BEGIN');
    await a.query('SELECT 1');
    expect((await b.query(canary)).rows[0].ssn).toBe('900-00-0001');
    await a.query('COMMIT');
    await b.end();
  } finally {
    writeFileSync(stack.policiesFile, original);
    stack.pgveil.policies.reload();
    await a.end();
  }
});
