/** Faults: a client that leaves mid-statement, a client that stops reading, an audit disk that is full. */
import { Client } from 'pg';
import { AuditLog, createAuditObserver, queuedSink } from '../../audit';
import * as write from '../../proxy/protocol/message-writer';
import { createTestDatabase, withAdmin, type TestDatabase } from '../support/postgres';
import { startProxyHarness, type ProxyHarness } from '../support/proxy-harness';
import { RawClient } from '../support/raw-client';

let db: TestDatabase;
let proxy: ProxyHarness;
beforeAll(async () => {
  db = await createTestDatabase('proxy_faults');
  proxy = await startProxyHarness(db.name);
});
afterAll(async () => {
  await proxy.stop();
  await db.drop();
});

const runningQueries = (marker: string): Promise<number> =>
  withAdmin(async (c) =>
    Number(
      (
        await c.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`, [
          `%${marker}%`,
        ])
      ).rows[0].n,
    ),
  );

test('a client that disconnects mid-statement gets its upstream query cancelled', async () => {
  const c = await RawClient.session(proxy.port, db.name);
  c.send(write.query("SELECT pg_sleep(30), 'leave-me-marker'"));
  await new Promise((r) => setTimeout(r, 300));
  expect(await runningQueries('leave-me-marker')).toBe(1);
  c.close();
  const deadline = Date.now() + 3000;
  let n = 1;
  while (n > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    n = await runningQueries('leave-me-marker');
  }
  expect(n).toBe(0);
});

test('a slow upstream statement delays only its own session', async () => {
  const slow = new Client({
    host: '127.0.0.1',
    port: proxy.port,
    user: 'analyst',
    password: 'analyst',
    database: db.name,
  });
  const fast = new Client({
    host: '127.0.0.1',
    port: proxy.port,
    user: 'analyst',
    password: 'analyst',
    database: db.name,
  });
  await Promise.all([slow.connect(), fast.connect()]);
  try {
    let slowDone = false;
    const sleeping = slow.query('SELECT pg_sleep(1.5) AS slept').then(() => (slowDone = true));
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 20; i++) expect((await fast.query('SELECT $1::int AS i', [i])).rows).toEqual([{ i }]);
    expect(slowDone).toBe(false);
    await sleeping;
  } finally {
    await Promise.all([slow.end(), fast.end()]);
  }
});

test('a client that stops reading a large result does not grow the proxy without bound', async () => {
  const c = await RawClient.open(proxy.port);
  c.close();
  const reader = await RawClient.session(proxy.port, db.name);
  // Stop reading: the kernel buffers fill, the proxy pauses upstream instead of buffering rows.
  reader.socket.pause();
  const before = process.memoryUsage().rss;
  reader.send(write.query("SELECT i, repeat('y', 200) FROM generate_series(1, 2000000) i"));
  await new Promise((r) => setTimeout(r, 2000));
  const growth = process.memoryUsage().rss - before;
  // 2,000,000 rows of ~220 bytes would be ~440 MB if buffered.
  expect(growth).toBeLessThan(100 * 1024 * 1024);
  reader.close();
});

test('when the audit disk is full, statements are refused rather than run unaudited', async () => {
  const observer = createAuditObserver({
    log: new AuditLog('/dev/full', undefined),
    events: queuedSink('none', async () => undefined),
    rawStatements: false,
    failClosed: true,
  });
  const { server, port } = await startProxyHarness(db.name, { observer });
  const c = new Client({ host: '127.0.0.1', port, user: 'analyst', password: 'analyst', database: db.name });
  try {
    await c.connect();
    // The first record cannot be written (ENOSPC): from then on nothing runs.
    await c.query('SELECT 1');
    await expect(c.query("SELECT 'must not run'")).rejects.toMatchObject({
      code: '53000',
      message: 'audit log unavailable: statement refused',
    });
    await expect(c.query('SELECT 2')).rejects.toMatchObject({ code: '53000' });
  } finally {
    await c.end();
    await server.close();
  }
});

test('a statement is audited even when its client leaves before the answer is complete', async () => {
  const c = await RawClient.session(proxy.port, db.name);
  const before = proxy.records.length;
  // The Query and the Terminate arrive together: the session closes before upstream answers.
  c.send(
    Buffer.concat([
      write.query("SELECT 'left-early' -- PGVEIL_REFUSE"),
      write.query("SELECT 'also-left'"),
      write.terminate(),
    ]),
  );
  await c.drainToClose();
  const deadline = Date.now() + 2000;
  while (proxy.records.length < before + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const mine = proxy.records.slice(before).filter((r) => r.sql.includes('left-early') || r.sql.includes('also-left'));
  expect(mine.map((r) => [r.outcome.kind, r.error?.sqlstate])).toEqual([
    ['refusal', '08006'],
    ['plan', '08006'],
  ]);
});
