/** The admin port through a running pgveil: Prometheus metrics, health and readiness, operator actions. */
import Redis from 'ioredis';
import { startStack, type Stack } from '../support/pgveil-stack';
import { deletePrefix, REDIS_URL, testKeyPrefix } from '../support/redis';

describe('the admin port of a running pgveil', () => {
  const prefix = testKeyPrefix('admin');
  let redis: Redis;
  let stack: Stack;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    stack = await startStack('admin', {
      redisPrefix: prefix,
      configLines: [
        'admin: { host: 127.0.0.1, port: 0 }',
        `events: { sinks: [ { type: file, path: audit/events.jsonl }, { type: redis-stream, key: "${prefix}events", maxLen: 1000 } ] }`,
      ],
    });
    // One refusal, so that the refusals counter has a value to show.
    const analyst = await stack.connect('analyst');
    await expect(analyst.query('DROP TABLE customers')).rejects.toMatchObject({ code: '42501' });
    await analyst.end();
  });
  afterAll(async () => {
    await stack.stop();
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  test('the metrics endpoint exposes the expected series with their values', async () => {
    const analyst = await stack.connect('analyst');
    await analyst.query('SELECT email FROM customers WHERE id = 3');
    await analyst.query('SELECT email FROM customers WHERE id = 3');
    const text = await (await fetch(`http://127.0.0.1:${stack.pgveil.adminPort}/metrics`)).text();
    await analyst.end();
    expect(text).toMatch(/^pgveil_statements_total\{decision="rewritten"\} [1-9]\d*$/m);
    expect(text).toMatch(/^pgveil_refusals_total\{rule="statement_class"\} 1$/m);
    expect(text).toMatch(/^pgveil_rewrite_cache_total\{result="hit"\} [1-9]\d*$/m);
    expect(text).toMatch(/^pgveil_rewrite_duration_seconds_count [1-9]\d*$/m);
    expect(text).toMatch(/^pgveil_statement_duration_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m);
    expect(text).toMatch(/^pgveil_client_connections 1$/m);
    expect(text).toMatch(/^pgveil_upstream_connections 1$/m);
    expect(text).toMatch(new RegExp(`^pgveil_policy_version_info\\{version="${stack.pgveil.policies.current().version}"\\} 1$`, 'm'));
    expect(text).toMatch(/^pgveil_event_queue_depth\{sink="redis:/m);
    expect(text).toMatch(/^# TYPE pgveil_events_dropped_total counter$/m);
  });

  test('healthz and readyz', async () => {
    const health = await fetch(`http://127.0.0.1:${stack.pgveil.adminPort}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${stack.pgveil.adminPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { policies: true, audit: true, 'upstream:demo': true } });
  });

  test('POST /catalog/refresh makes a new table known at once', async () => {
    await stack.db.exec('CREATE TABLE public.created_later (x int); INSERT INTO public.created_later VALUES (7)');
    await stack.db.exec(`GRANT SELECT ON public.created_later TO ${stack.serviceRole}`);
    const analyst = await stack.connect('analyst');
    try {
      await expect(analyst.query('SELECT x FROM created_later')).rejects.toMatchObject({ code: '42P01' });
      const response = await fetch(`http://127.0.0.1:${stack.pgveil.adminPort}/catalog/refresh`, { method: 'POST' });
      expect(await response.json()).toEqual({ status: 'ok', result: { refreshed: ['demo'] } });
      expect((await analyst.query('SELECT x FROM created_later')).rows).toEqual([{ x: 7 }]);
    } finally {
      await analyst.end();
    }
  });
});
