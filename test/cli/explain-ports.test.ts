/**
 * `pgveil explain` decides as the server does on every kind of database name a client may connect
 * to: an external output port (differentially private aggregates, a privacy budget in Redis), an
 * internal port and a plain data product. Each statement is asked of the running server through a
 * real client connection and of explain, built from the same configuration files; the decision and
 * SQLSTATE (and a refusal's message) must be the same. Explain is a dry run: every key the port
 * keeps in Redis (budgets spent, answers released) reads the same before and after it, and what it
 * says it would spend is what the server then spends.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { Client } from 'pg';
import { startPortStack, type PortStack } from '../ports/port-stack';
import { explainStatement, type Explained } from '../../cli/commands/explain';
import { loadServerConfig } from '../../cli/config/load-server-config';

const CLI = join(__dirname, '../../dist/cli/pgveil.js');

let s: PortStack;
beforeAll(async () => {
  // Two answers a day: the third new question is refused for the budget.
  s = await startPortStack('explain_ports', { epsilonPerAnswer: 0.5, budget: 1 });
});
afterAll(async () => {
  await s?.stop();
});

type Decision = { kind: 'plan' } | { kind: 'refusal'; sqlstate: string; message: string };

const explain = async (user: string, database: string, sql: string): Promise<Explained> =>
  explainStatement(
    loadServerConfig(join(s.stack.dir, 'pgveil.yaml')),
    { user, dataProduct: database, searchPath: '"$user", public' },
    sql,
  );

const decisionOf = ({ outcome }: Explained): Decision =>
  outcome.kind === 'plan'
    ? { kind: 'plan' }
    : { kind: 'refusal', sqlstate: outcome.sqlstate, message: outcome.message };

/** What the server does with the statement, through a connection of its own. */
async function server(user: 'partner' | 'analyst', database: string, sql: string): Promise<Decision> {
  const client = await s.connect(user, database);
  try {
    await client.query(sql);
    return { kind: 'plan' };
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { kind: 'refusal', sqlstate: code, message };
  } finally {
    await client.end();
  }
}

/** Every key the output ports keep under this stack's prefix (budgets, released answers), with its value. */
async function portKeys(): Promise<Record<string, unknown>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await s.redis.scan(cursor, 'MATCH', `${s.prefix}dp:*`, 'COUNT', 500);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  keys.sort();
  const values: Record<string, unknown> = {};
  for (const key of keys)
    values[key] = (await s.redis.type(key)) === 'hash' ? await s.redis.hgetall(key) : await s.redis.get(key);
  return values;
}

/** Explain first (its keys must not change), then the server: the same decision. */
async function sameDecision(user: 'partner' | 'analyst', database: string, sql: string): Promise<Explained> {
  const before = await portKeys();
  const explained = await explain(user, database, sql);
  expect(await portKeys()).toEqual(before);
  expect(decisionOf(explained)).toEqual(await server(user, database, sql));
  return explained;
}

const AGGREGATE = 'SELECT status, count(*) FROM orders GROUP BY status';

test('external port: explain says what the server would spend, spends nothing, and refuses what the server refuses', async () => {
  const first = await sameDecision('partner', 'demo_external', AGGREGATE);
  expect(first.outcome.kind).toBe('plan');
  expect(first.text).toContain('would spend epsilon 0.5 of 1 left on port "demo_external" (0.5 after it)');
  // The server spent 0.5 on that answer; explain now finds it released, free.
  expect(Object.values(await portKeys())).toContain('500000');
  const again = await sameDecision('partner', 'demo_external', AGGREGATE);
  expect(again.text).toContain('already released to this user on port "demo_external" in this period');
  expect(again.text).toContain('(epsilon 0.5 left)');

  const rows = await sameDecision('partner', 'demo_external', 'SELECT * FROM orders');
  expect(decisionOf(rows)).toMatchObject({ kind: 'refusal', sqlstate: '42501' });

  const second = await sameDecision(
    'partner',
    'demo_external',
    'SELECT region, count(*) FROM customers GROUP BY region',
  );
  expect(second.text).toContain('would spend epsilon 0.5 of 0.5 left on port "demo_external" (0 after it)');
  // The budget is spent: explain gives the server's refusal, and still spends nothing.
  const exhausted = await sameDecision('partner', 'demo_external', 'SELECT count(*) FROM orders');
  expect(decisionOf(exhausted)).toMatchObject({
    kind: 'refusal',
    sqlstate: '53400',
    message: expect.stringContaining('privacy budget of user "partner" on external port "demo_external" is exhausted'),
  });
  // A user who is not a subscriber of the port.
  expect(decisionOf(await sameDecision('analyst', 'demo_external', AGGREGATE))).toMatchObject({
    kind: 'refusal',
    sqlstate: '42501',
  });
});

test('internal port: explain plans and refuses as the server does', async () => {
  expect((await sameDecision('partner', 'demo_reporting', AGGREGATE)).outcome.kind).toBe('plan');
  const rows = await sameDecision('partner', 'demo_reporting', 'SELECT * FROM customers');
  expect(rows.text).toContain('rewritten (protected: public.customers)');
  expect(decisionOf(await sameDecision('partner', 'demo_reporting', 'DELETE FROM orders'))).toMatchObject({
    kind: 'refusal',
    sqlstate: '42501',
  });
  expect(decisionOf(await sameDecision('analyst', 'demo_reporting', 'SELECT * FROM orders'))).toMatchObject({
    kind: 'refusal',
    sqlstate: '42501',
  });
});

test('plain data product: explain plans and refuses as the server does', async () => {
  expect((await sameDecision('analyst', 'demo', AGGREGATE)).outcome.kind).toBe('plan');
  expect((await sameDecision('analyst', 'demo', 'SELECT * FROM customers')).outcome.kind).toBe('plan');
  expect(decisionOf(await sameDecision('analyst', 'demo', 'DELETE FROM orders'))).toMatchObject({
    kind: 'refusal',
    sqlstate: '42501',
  });
  // The partner connects, but is no subscriber of the data product itself.
  expect(decisionOf(await sameDecision('partner', 'demo', AGGREGATE))).toMatchObject({
    kind: 'refusal',
    sqlstate: '42501',
  });
});

test('a database name that names nothing is an error, as the server refuses the connection', async () => {
  await expect(explain('partner', 'demo_nowhere', AGGREGATE)).rejects.toThrow('database "demo_nowhere" does not exist');
  const client = new Client({
    host: '127.0.0.1',
    port: s.stack.port,
    user: 'partner',
    password: 'partner',
    database: 'demo_nowhere',
  });
  await expect(client.connect()).rejects.toMatchObject({ code: '3D000' });
});

test('the command routes ports as the server does (the built CLI)', async () => {
  const before = await portKeys();
  const run = promisify(execFile);
  const config = join(s.stack.dir, 'pgveil.yaml');
  const pgveil = (database: string, sql: string) =>
    run('node', [CLI, 'explain', '--config', config, '--user', 'partner', '-d', database, sql]);
  expect((await pgveil('demo_reporting', AGGREGATE)).stdout).toContain('rewritten (protected: public.orders)');
  // Released by the first test: served again for free.
  expect((await pgveil('demo_external', AGGREGATE)).stdout).toContain(
    'privacy: already released to this user on port "demo_external" in this period',
  );
  await expect(pgveil('demo_external', 'SELECT * FROM orders')).rejects.toMatchObject({
    code: 2,
    stdout: expect.stringContaining('refused (SQLSTATE 42501)'),
  });
  expect(await portKeys()).toEqual(before);
}, 120_000);
