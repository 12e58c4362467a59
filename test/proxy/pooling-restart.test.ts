/**
 * A pooled data product's server restarts, on a throwaway PostgreSQL of the test's own: the pool
 * drains (the server ended its idle connections), statements meanwhile get 08001, and afterwards
 * the pool refills, so even client sessions that stayed connected through the restart go on.
 */
import { Client } from 'pg';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres';
import { startProxyHarness, type ProxyHarness } from '../support/proxy-harness';

const UPSTREAM_PORT = 5489;
const DATABASE = 'restartable';

let upstream: ThrowawayPostgres;
let proxy: ProxyHarness;
beforeAll(async () => {
  upstream = await startThrowawayPostgres(UPSTREAM_PORT);
  proxy = await startProxyHarness(DATABASE, {
    route: (db) =>
      db === DATABASE
        ? {
            host: '127.0.0.1',
            port: UPSTREAM_PORT,
            database: 'postgres',
            user: 'postgres',
            pool: { size: 2, waitTimeoutMs: 3000 },
          }
        : undefined,
  });
});
afterAll(async () => {
  await proxy.stop();
  await upstream.remove();
});

async function session(): Promise<Client> {
  const c = new Client({
    host: '127.0.0.1',
    port: proxy.port,
    user: 'analyst',
    password: 'analyst',
    database: DATABASE,
  });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** The server's client backends other than the asking one. */
async function backends(): Promise<number> {
  const admin = upstream.client();
  await admin.connect();
  try {
    const answer = await admin.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    );
    return answer.rows[0].n as number;
  } finally {
    await admin.end();
  }
}

test('a server restart drains the pool and the next borrows refill it; idle pooled sessions survive it', async () => {
  const clients = await Promise.all([session(), session(), session(), session()]);
  for (const [i, c] of clients.entries()) expect((await c.query('SELECT $1::int AS i', [i])).rows[0].i).toBe(i);
  // Four sessions, at most two upstream connections.
  expect(await backends()).toBeLessThanOrEqual(2);
  await upstream.shutDown();
  const during = await session().then(
    (c) =>
      c.query('SELECT 1').then(
        () => 'answered',
        (e: { code?: string }) => e.code,
      ),
    (e: { code?: string }) => e.code,
  );
  expect(during).toBe('08001');
  await upstream.start();
  // The sessions held no connection while idle: the restart never touched them.
  for (const [i, c] of clients.entries())
    expect((await c.query('SELECT $1::int + 10 AS i', [i])).rows[0].i).toBe(i + 10);
  expect(await backends()).toBeLessThanOrEqual(2);
  for (const c of clients) await c.end();
});
