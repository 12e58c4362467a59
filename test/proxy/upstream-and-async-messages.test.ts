/** Upstream failures become ErrorResponses (never a hang); notices and notifications are relayed. */
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startProxyHarness, type ProxyHarness } from '../support/proxy-harness';

let db: TestDatabase;
let proxy: ProxyHarness;
beforeAll(async () => {
  db = await createTestDatabase('proxy_async');
  proxy = await startProxyHarness(db.name);
});
afterAll(async () => {
  await proxy.stop();
  await db.drop();
});

const connect = async (): Promise<Client> => {
  const c = new Client({
    host: '127.0.0.1',
    port: proxy.port,
    user: 'analyst',
    password: 'analyst',
    database: db.name,
  });
  await c.connect();
  return c;
};

test('an unreachable upstream is reported as 08001 without naming the service account', async () => {
  const unreachable = await startProxyHarness('anything', {
    limits: { authFailureDelayMs: 10 },
    route: () => ({
      host: '127.0.0.1',
      port: 1,
      database: 'x',
      user: 'secret_service_account',
      password: 'hunter2',
      connectTimeoutMs: 2000,
    }),
  });
  const { port, server } = unreachable;
  try {
    const c = new Client({ host: '127.0.0.1', port, user: 'analyst', password: 'analyst', database: 'anything' });
    const error = (await c.connect().catch((e: unknown) => e)) as { code?: string; message?: string };
    expect(error.code).toBe('08001');
    expect(error.message).toMatch(/^data product upstream is unavailable/);
    expect(error.message).not.toContain('secret_service_account');
    expect(unreachable.events.map((e) => e.kind)).toContain('upstream_failure');
  } finally {
    await server.close();
  }
});

test('NoticeResponse is relayed', async () => {
  const c = await connect();
  try {
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(n.message ?? ''));
    await c.query("DO $$ BEGIN RAISE NOTICE 'hello from upstream'; END $$");
    expect(notices).toEqual(['hello from upstream']);
  } finally {
    await c.end();
  }
});

test('NotificationResponse is relayed', async () => {
  const listener = await connect();
  const sender = await connect();
  try {
    await listener.query('LISTEN pgveil_test_channel');
    const received = new Promise<string>((resolve) => listener.once('notification', (n) => resolve(n.payload ?? '')));
    await sender.query("NOTIFY pgveil_test_channel, 'ping'");
    expect(await received).toBe('ping');
  } finally {
    await listener.end();
    await sender.end();
  }
});

test('an upstream that dies mid-session ends that session with 08006; new sessions work', async () => {
  const victim = await connect();
  victim.on('error', () => undefined);
  const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  const admin = await connect();
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await expect(victim.query('SELECT 1')).rejects.toThrow();
    const fresh = await connect();
    expect((await fresh.query('SELECT 5 AS five')).rows).toEqual([{ five: 5 }]);
    await fresh.end();
  } finally {
    await admin.end();
  }
});
