/**
 * Faults of the upstream server itself, on a throwaway PostgreSQL of the test's own (the machine's
 * server is shared and must not crash): a backend killed mid-query, which makes the server crash
 * and restart, and a server shut down and started again.
 */
import { Client } from 'pg';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres';
import { startProxyHarness, type ProxyHarness } from '../support/proxy-harness';

const UPSTREAM_PORT = 5496;
const DATABASE = 'crashable';

let upstream: ThrowawayPostgres;
let proxy: ProxyHarness;
beforeAll(async () => {
  upstream = await startThrowawayPostgres(UPSTREAM_PORT);
  proxy = await startProxyHarness(DATABASE, {
    route: (db) =>
      db === DATABASE ? { host: '127.0.0.1', port: UPSTREAM_PORT, database: 'postgres', user: 'postgres' } : undefined,
  });
});
afterAll(async () => {
  await proxy.stop();
  await upstream.remove();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

/** The SQLSTATE a promise is rejected with, or 'resolved'. */
async function sqlstateOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return (error as { code?: string }).code ?? 'no sqlstate';
  }
}

/** Tries a fresh session until one answers; returns the SQLSTATEs of the attempts that failed. */
async function firstWorkingSession(timeoutMs: number): Promise<{ answer: unknown; failures: string[] }> {
  const failures: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await session();
      const answer = (await c.query('SELECT 41 + 1 AS answer')).rows[0].answer;
      await c.end();
      return { answer, failures };
    } catch (error) {
      failures.push((error as { code?: string }).code ?? 'no sqlstate');
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

test('a backend killed mid-query: the client gets 08006, the statement is audited, the server recovers and new sessions work', async () => {
  const victim = await session();
  const bystander = await session();
  // Idle when the server crashes: the proxy ends it with a FATAL error of its own.
  const bystanderEnded = new Promise<string>((resolve) =>
    bystander.once('error', (e: { code?: string }) => resolve(e.code ?? 'no sqlstate')),
  );
  const running = victim.query("SELECT pg_sleep(30), 'kill-me-marker'");
  const admin = upstream.client();
  await admin.connect();
  let pid: number | undefined;
  for (let i = 0; i < 50 && pid === undefined; i++) {
    await sleep(50);
    pid = (
      await admin.query(
        "SELECT pid FROM pg_stat_activity WHERE query LIKE '%kill-me-marker%' AND pid <> pg_backend_pid()",
      )
    ).rows[0]?.pid;
  }
  await admin.end().catch(() => undefined);
  expect(pid).toBeDefined();
  // SIGKILL of a backend makes the postmaster end every session and restart (crash recovery).
  process.kill(pid!, 'SIGKILL');
  expect(await sqlstateOf(running)).toBe('08006');
  // The other session's upstream went down with the crash (the postmaster ends every backend,
  // a moment after the killed one): it ends with 08006 too, not a hang.
  expect(await bystanderEnded).toBe('08006');
  const record = proxy.records.find((r) => r.sql.includes('kill-me-marker'));
  expect(record?.error?.sqlstate).toBe('08006');
  const { answer } = await firstWorkingSession(20_000);
  expect(answer).toBe(42);
});

test('an upstream shut down and started again: its sessions end, sessions meanwhile get 08001, later sessions work', async () => {
  // The crash of the test before may still be in recovery.
  await firstWorkingSession(20_000);
  const before = await session();
  const sleeping = sqlstateOf(before.query('SELECT pg_sleep(30)'));
  await sleep(200);
  await upstream.shutDown();
  // PostgreSQL's own FATAL 57P01 (administrator command) reaches the client, or the proxy's 08006.
  expect(await sleeping).toMatch(/^(08006|57P01)$/);
  expect(await sqlstateOf(session())).toBe('08001');
  await upstream.start();
  const { answer, failures } = await firstWorkingSession(20_000);
  expect(answer).toBe(42);
  expect(failures).toEqual([]);
});
