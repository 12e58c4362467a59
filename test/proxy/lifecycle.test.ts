/** TLS, cancel, streaming with bounded memory, and the limits that end one session. */
import { Client } from 'pg';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startProxyHarness, type ProxyHarness } from '../support/proxy-harness';
import { RawClient, errorFields } from '../support/raw-client';
import * as write from '../../proxy/protocol/message-writer';

let db: TestDatabase;
let proxy: ProxyHarness;
let tlsDir: string;

beforeAll(async () => {
  db = await createTestDatabase('proxy_life');
  tlsDir = mkdtempSync(join(tmpdir(), 'pgveil-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(tlsDir, 'key.pem'),
      '-out',
      join(tlsDir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  proxy = await startProxyHarness(db.name, {
    tls: { cert: readFileSync(join(tlsDir, 'cert.pem'), 'utf8'), key: readFileSync(join(tlsDir, 'key.pem'), 'utf8') },
  });
});

afterAll(async () => {
  await proxy.stop();
  await db.drop();
  rmSync(tlsDir, { recursive: true, force: true });
});

const connect = async (extra: object = {}): Promise<Client> => {
  const c = new Client({
    host: '127.0.0.1',
    port: proxy.port,
    user: 'analyst',
    password: 'analyst',
    database: db.name,
    ...extra,
  });
  await c.connect();
  return c;
};

test('SSLRequest is answered with TLS when a certificate is configured', async () => {
  const c = await connect({ ssl: { rejectUnauthorized: false } });
  try {
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    const socket = (c as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream;
    expect(socket.encrypted).toBe(true);
  } finally {
    await c.end();
  }
});

test('plaintext bytes sent behind an SSLRequest are a protocol violation, not a TLS session', async () => {
  const c = await RawClient.open(proxy.port);
  c.send(
    Buffer.concat([
      write.sslRequest(),
      write.startupMessage(
        new Map([
          ['user', 'analyst'],
          ['database', db.name],
        ]),
      ),
    ]),
  );
  const frames = await c.drainToClose();
  expect(frames.map((f) => errorFields(f).get('C'))).toEqual(['08P01']);
  expect(errorFields(frames[0]!).get('M')).toBe('received unencrypted data after ssl request');
});

test('SSLRequest is declined with N when no certificate is configured, GSSENCRequest always', async () => {
  const plain = await startProxyHarness(db.name);
  try {
    const c = await RawClient.open(plain.port);
    c.send(write.sslRequest());
    const answer = await new Promise<Buffer>((resolve) => c.socket.once('data', resolve));
    expect(answer.toString()).toBe('N');
    c.close();
    const g = await RawClient.open(plain.port);
    g.send(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]));
    const gAnswer = await new Promise<Buffer>((resolve) => g.socket.once('data', resolve));
    expect(gAnswer.toString()).toBe('N');
    g.close();
  } finally {
    await plain.stop();
  }
});

test('a CancelRequest cancels the running query of its own session only', async () => {
  const victim = await connect();
  const other = await connect();
  try {
    const otherSleep = other.query('SELECT pg_sleep(1) AS slept');
    const sleep = victim.query('SELECT pg_sleep(30)');
    await new Promise((r) => setTimeout(r, 300));
    const pid = (victim as unknown as { processID: number }).processID;
    const secret = (victim as unknown as { secretKey: number }).secretKey;
    // A wrong secret cancels nothing.
    const wrong = await RawClient.open(proxy.port);
    wrong.send(write.cancelRequest(pid, secret ^ 1));
    await wrong.drainToClose();
    const right = await RawClient.open(proxy.port);
    right.send(write.cancelRequest(pid, secret));
    await right.drainToClose();
    await expect(sleep).rejects.toMatchObject({ code: '57014' });
    expect((await otherSleep).rows).toHaveLength(1);
    expect((await victim.query('SELECT 3 AS usable')).rows).toEqual([{ usable: 3 }]);
  } finally {
    await victim.end();
    await other.end();
  }
});

test('a 1,000,000-row SELECT streams through with bounded proxy memory', async () => {
  const c = await RawClient.session(proxy.port, db.name);
  try {
    global.gc?.();
    const before = process.memoryUsage();
    c.send(write.query("SELECT i, repeat('x', 40) FROM generate_series(1, 1000000) AS i"));
    let rows = 0;
    let peakRss = before.rss;
    let peakExternal = before.external + before.arrayBuffers;
    for (;;) {
      const f = await c.next(60_000);
      if (!f) throw new Error('closed');
      if (f.code === 'D') rows++;
      if (rows % 50_000 === 0) {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakExternal = Math.max(peakExternal, m.external + m.arrayBuffers);
      }
      if (f.code === 'Z') break;
    }
    expect(rows).toBe(1_000_000);
    // The result is ~70 MB on the wire; the proxy (in this process) must not hold it.
    expect(peakRss - before.rss).toBeLessThan(150 * 1024 * 1024);
  } finally {
    c.close();
  }
}, 120_000);

describe('limits end only the offending session', () => {
  test('startup timeout', async () => {
    const limited = await startProxyHarness(db.name, { limits: { startupTimeoutMs: 200 } });
    try {
      const c = await RawClient.open(limited.port);
      const frames = await c.drainToClose();
      expect(frames.map((f) => errorFields(f).get('C'))).toEqual(['08P01']);
      expect(limited.events.some((e) => e.kind === 'limit_exceeded')).toBe(true);
    } finally {
      await limited.stop();
    }
  });

  test('idle timeout', async () => {
    const limited = await startProxyHarness(db.name, { limits: { idleTimeoutMs: 300 } });
    try {
      const c = await RawClient.session(limited.port, db.name);
      const frames = await c.drainToClose();
      expect(frames.map((f) => errorFields(f).get('C'))).toEqual(['57P05']);
    } finally {
      await limited.stop();
    }
  });

  test('maximum client connections', async () => {
    const limited = await startProxyHarness(db.name, { limits: { maxClientConnections: 1 } });
    const first = new Client({
      host: '127.0.0.1',
      port: limited.port,
      user: 'analyst',
      password: 'analyst',
      database: db.name,
    });
    try {
      await first.connect();
      const second = new Client({
        host: '127.0.0.1',
        port: limited.port,
        user: 'analyst',
        password: 'analyst',
        database: db.name,
      });
      await expect(second.connect()).rejects.toMatchObject({ code: '53300' });
      expect((await first.query('SELECT 1 AS still')).rows).toEqual([{ still: 1 }]);
    } finally {
      await first.end();
      await limited.stop();
    }
  });
});

test('drain lets the running statement finish, then ends the session', async () => {
  const draining = await startProxyHarness(db.name);
  const c = new Client({
    host: '127.0.0.1',
    port: draining.port,
    user: 'analyst',
    password: 'analyst',
    database: db.name,
  });
  await c.connect();
  c.on('error', () => undefined);
  const running = c.query('SELECT pg_sleep(0.5), 42 AS answer');
  await new Promise((r) => setTimeout(r, 100));
  const drained = draining.server.drain(5000);
  expect((await running).rows[0].answer).toBe(42);
  await drained;
  expect(draining.server.activeSessions).toBe(0);
  await expect(
    new Client({
      host: '127.0.0.1',
      port: draining.port,
      user: 'analyst',
      password: 'analyst',
      database: db.name,
    }).connect(),
  ).rejects.toThrow();
  await draining.stop();
});

test('drain lets an open transaction finish before ending the session', async () => {
  const draining = await startProxyHarness(db.name);
  const c = new Client({
    host: '127.0.0.1',
    port: draining.port,
    user: 'analyst',
    password: 'analyst',
    database: db.name,
  });
  await c.connect();
  c.on('error', () => undefined);
  await c.query('BEGIN');
  const drained = draining.server.drain(5000);
  await new Promise((r) => setTimeout(r, 200));
  // Still served inside its transaction, and the commit goes through.
  expect((await c.query('SELECT 7 AS in_transaction')).rows).toEqual([{ in_transaction: 7 }]);
  await c.query('COMMIT');
  await drained;
  expect(draining.server.activeSessions).toBe(0);
  await draining.stop();
});
