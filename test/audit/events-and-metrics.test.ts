/** Events reach Redis Streams and webhooks without ever delaying a statement; anomalies; rotation. */
import Redis from 'ioredis';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AnomalyDetector,
  AuditLog,
  chainOrder,
  httpSink,
  rotatedFiles,
  verifyAuditFiles,
  type SecurityEvent,
} from '../../audit';
import { startStack, type Stack } from '../support/pgveil-stack';
import { deletePrefix, REDIS_URL, testKeyPrefix } from '../support/redis';

const sample = (n: number): SecurityEvent => ({
  time: new Date(0).toISOString(),
  kind: 'statement_refused',
  severity: 'high',
  actor: { user: 'a', session: 's', client: 'c' },
  dataProduct: 'd',
  message: `m${n}`,
  reasons: [],
});

describe('through a running pgveil', () => {
  const prefix = testKeyPrefix('events');
  let redis: Redis;
  let stack: Stack;
  let webhook: Server;
  const received: SecurityEvent[] = [];
  let failNext = 2;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    // A webhook that fails twice, then accepts: the sink retries with backoff.
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (failNext-- > 0) return void res.writeHead(503).end();
        received.push(JSON.parse(body) as SecurityEvent);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    const hookPort = (webhook.address() as { port: number }).port;
    stack = await startStack('events', {
      redisPrefix: prefix,
      configLines: [
        `events: { sinks: [ { type: file, path: audit/events.jsonl }, { type: redis-stream, key: "${prefix}events", maxLen: 1000 }, { type: http, url: "http://127.0.0.1:${hookPort}/hook" } ] }`,
      ],
    });
  });
  afterAll(async () => {
    await stack.stop();
    await new Promise<void>((r) => webhook.close(() => r()));
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  test('a refusal reaches the Redis Stream and, after retries, the webhook', async () => {
    const analyst = await stack.connect('analyst');
    await expect(analyst.query('DROP TABLE customers')).rejects.toMatchObject({ code: '42501' });
    await analyst.end();
    let events: SecurityEvent[] = [];
    for (let i = 0; i < 100 && !events.some((e) => e.kind === 'statement_refused'); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      events = (await redis.xrange(`${prefix}events`, '-', '+')).map(
        ([, fields]) => JSON.parse(fields[1]!) as SecurityEvent,
      );
    }
    expect(events.find((e) => e.kind === 'statement_refused')).toMatchObject({
      class_uid: 6005,
      class_name: 'Datastore Activity',
      actor: { user: 'analyst' },
      dataProduct: 'demo',
      message: 'drop statements are not allowed through pgveil',
      reasons: ['statement_class'],
    });
    const deadline = Date.now() + 5000;
    while (!received.some((e) => e.kind === 'statement_refused') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(received.find((e) => e.kind === 'statement_refused')?.message).toBe(
      'drop statements are not allowed through pgveil',
    );
  });
});

test('a failing or hanging sink never blocks: emit returns at once, the queue is bounded and drops are counted', async () => {
  const hanging = createServer(() => undefined); // never answers
  await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
  const sink = httpSink(`http://127.0.0.1:${(hanging.address() as { port: number }).port}/`, 1, 10, 300);
  for (let i = 0; i < 10_050; i++) sink.emit(sample(i));
  // 10,000 queued (one of them in flight), the rest dropped, and emit never waited on the network.
  expect(sink.depth).toBe(10_000);
  expect(sink.dropped).toBe(50);
  // Closed without waiting: the queue is dropped and counted, later events too, nothing goes on.
  await sink.close(0);
  expect(sink.dropped).toBe(50 + 9_999);
  sink.emit(sample(-1));
  expect(sink.dropped).toBe(50 + 10_000);
  hanging.closeAllConnections();
  await new Promise<void>((r) => hanging.close(() => r()));
});

test('anomalies: a rows spike after the warm-up, and a refusal spike within a minute', () => {
  const detector = new AnomalyDetector({ factor: 10, warmup: 5, minRows: 100, minRefusals: 3, alpha: 0.2 });
  const t = Date.UTC(2026, 10, 22, 12, 0, 0);
  for (let i = 0; i < 5; i++) expect(detector.observe('ana', 20, false, t)).toBeUndefined();
  expect(detector.observe('ana', 150, false, t)).toBeUndefined(); // above minRows, but not 10x the usual 20... 150 < 200
  expect(detector.observe('ana', 5000, false, t)).toMatchObject({ kind: 'rows_spike' });
  expect(detector.observe('bob', 5000, false, t)).toBeUndefined(); // no baseline yet
  for (let i = 0; i < 3; i++) expect(detector.observe('eve', 0, true, t)).toBeUndefined();
  expect(detector.observe('eve', 0, true, t)).toMatchObject({
    kind: 'refusal_spike',
    message: 'user "eve" had 4 refusals this minute (usual 0.00)',
  });
  expect(detector.observe('eve', 0, true, t)).toBeUndefined(); // raised once per minute
});

test('rotation by size keeps one chain across files, and a restart continues it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-rotate-'));
  try {
    const file = join(dir, 'audit.jsonl');
    const log = new AuditLog(file, undefined, { maxBytes: 600 });
    for (let i = 0; i < 20; i++) log.append({ n: i, statement: 'SELECT $1' });
    log.close();
    const restarted = new AuditLog(file, undefined, { maxBytes: 600 });
    restarted.append({ n: 20 });
    restarted.close();
    const files = chainOrder([file, ...rotatedFiles(file)]);
    expect(files.length).toBeGreaterThan(2);
    expect(files[files.length - 1]).toBe(file);
    expect(verifyAuditFiles(files, undefined)).toMatchObject({ ok: true, records: 21 });
    // A rotated file removed from the middle breaks the chain at the next file's first record.
    const missing = files.filter((_, i) => i !== 1);
    expect(verifyAuditFiles(missing, undefined)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/:1: chain broken/),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
