/** Attributes, grants with TTL, revocation, outage and pub/sub reload against the machine's real Redis. */
import Redis from 'ioredis';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisAttributeSource, PolicyStore } from '../../policies';
import { announceTo, followAnnouncements } from '../../policies/policy-reload-channel';
import { deletePrefix, REDIS_URL, testKeyPrefix } from '../support/redis';

let redis: Redis;
let prefix: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  prefix = testKeyPrefix('attributes');
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

const source = (options: Partial<ConstructorParameters<typeof RedisAttributeSource>[1]> = {}, client = redis) =>
  new RedisAttributeSource(client, { keyPrefix: prefix, refreshMs: 50, maxStaleMs: 60_000, ...options });

test('attributes and grants merge; a grant expires by itself, mid-session', async () => {
  const s = source();
  await s.setAttribute('ana', 'region', 'EU');
  await s.grant('ana', 'region', 'US', 1);
  await s.grant('ana', 'clearance', 'pii', 60);
  expect(await s.load('ana')).toEqual({
    ok: true,
    attributes: { region: 'EU' },
    granted: { region: ['US'], clearance: ['pii'] },
  });
  await sleep(1100);
  // Even from a copy fetched before the expiry, the grant stops counting at its expiry time.
  expect(s.current('ana', Date.now())).toEqual({
    ok: true,
    attributes: { region: 'EU' },
    granted: { clearance: ['pii'] },
  });
  s.close();
  expect(await redis.exists(`${prefix}grant:ana:region:US`)).toBe(0);
});

test('a revoke is seen by every replica at its next refresh', async () => {
  const replicaA = source();
  const replicaB = source();
  await replicaA.grant('bob', 'region', 'APAC', 600);
  expect(await replicaB.load('bob')).toEqual({ ok: true, attributes: {}, granted: { region: ['APAC'] } });
  expect(await replicaA.revoke('bob', 'region')).toBe(1);
  await sleep(200); // a few background refreshes
  expect(replicaB.current('bob')).toEqual({ ok: true, attributes: {}, granted: {} });
  replicaA.close();
  replicaB.close();
});

/** Waits until `condition` holds, checking every 50 ms, at most 10 s (then the test's next expectation fails). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition() && Date.now() < deadline) await sleep(50);
}

/** Resolves once a Redis server on `port` answers PING (a freshly spawned one takes a moment). */
async function untilRedisAnswers(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    const answered = await probe.connect().then(
      () => probe.ping(),
      () => undefined,
    );
    probe.disconnect();
    if (answered === 'PONG') return;
    if (Date.now() > deadline) throw new Error(`no Redis answered on port ${port} within 10 s`);
    await sleep(50);
  }
}

describe('Redis outage', () => {
  let server: ChildProcess;
  const port = 16379 + (process.pid % 1000);
  beforeAll(async () => {
    server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await untilRedisAnswers(port);
  });
  afterAll(() => {
    server.kill('SIGKILL');
  });

  test('last known values serve for a bounded time, then the user is refused; an event says so', async () => {
    const client = new Redis({ port, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 200 });
    client.on('error', () => undefined);
    // A loaded machine may take a while: wait for the connection, not for a fixed time.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the test Redis did not become ready within 10 s')), 10_000);
      client.once('ready', () => (clearTimeout(t), resolve()));
    });
    const events: string[] = [];
    let recovered = 0;
    const s = source({ maxStaleMs: 500, onOutage: (d) => events.push(d), onRecovery: () => recovered++ }, client);
    await s.setAttribute('eve', 'region', 'EU');
    expect(await s.load('eve')).toEqual({ ok: true, attributes: { region: 'EU' }, granted: {} });
    server.kill('SIGKILL');
    // The last known values serve while the outage is younger than maxStaleMs.
    expect(s.current('eve')).toEqual({ ok: true, attributes: { region: 'EU' }, granted: {} });
    // A background refresh notices the outage (how soon depends on the machine's load: wait for it).
    await until(() => events.length > 0);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatch(/^attribute store unreachable/);
    await until(() => !s.current('eve').ok);
    expect(s.current('eve')).toEqual({ ok: false, reason: 'attribute store unreachable for too long' });
    // Redis comes back (empty: it keeps nothing on disk): the user is served again.
    server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const deadline = Date.now() + 5000;
    while (!s.current('eve').ok && Date.now() < deadline) await sleep(100);
    expect(s.current('eve')).toEqual({ ok: true, attributes: {}, granted: {} });
    expect(recovered).toBe(1);
    s.close();
    client.disconnect();
  });
});

test('a policy version loaded by one replica is announced and loaded by the others', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-reload-'));
  const file = join(dir, 'policies.yaml');
  writeFileSync(
    file,
    'tags: [pii]\nglobalPolicies:\n  - id: one\n    columns: [ { tags: [pii], action: { kind: hash } } ]\n',
  );
  const channel = `${prefix}policy-reload`;
  const subscriber = new Redis(REDIS_URL);
  const a = new PolicyStore({ paths: [file], watch: false, announce: announceTo(redis, channel) });
  const b = new PolicyStore({ paths: [file], watch: false });
  try {
    await followAnnouncements(subscriber, channel, () => b);
    writeFileSync(file, readFileSync(file, 'utf8').replace('kind: hash', 'kind: "null"'));
    expect(a.reload()).toBe(true);
    const deadline = Date.now() + 3000;
    while (b.current().version !== a.current().version && Date.now() < deadline) await sleep(20);
    expect(b.current().version).toBe(a.current().version);
    expect(b.current().set.globalPolicies[0]!.columns![0]!.action).toEqual({ kind: 'null' });
  } finally {
    a.close();
    b.close();
    subscriber.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
});
