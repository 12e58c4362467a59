/**
 * The admin port through a running pgveil: Prometheus metrics, health and readiness, and operator
 * actions that need the configured bearer token (and do not exist without one).
 */
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { adminTokenFrom, bearerTokenMatches } from '../../ops/bearer-token';
import { waitForText } from '../support/wait-for-text';
import { startStack, type Stack } from '../support/pgveil-stack';
import { deletePrefix, REDIS_URL, testKeyPrefix } from '../support/redis';

describe('the admin port of a running pgveil', () => {
  const prefix = testKeyPrefix('admin');
  let redis: Redis;
  let stack: Stack;
  const tokenEnv = `PGVEIL_TEST_ADMIN_TOKEN_${randomBytes(4).toString('hex')}`;
  const token = randomBytes(24).toString('base64url');
  const post = (path: string, authorization?: string): Promise<Response> =>
    fetch(`http://127.0.0.1:${stack.pgveil.adminPort}${path}`, {
      method: 'POST',
      headers: authorization ? { authorization } : {},
    });

  beforeAll(async () => {
    process.env[tokenEnv] = token;
    redis = new Redis(REDIS_URL);
    stack = await startStack('admin', {
      redisPrefix: prefix,
      configLines: [
        `admin: { port: 0, tokenEnv: ${tokenEnv} }`,
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
    delete process.env[tokenEnv];
  });

  test('without a host in the configuration the admin port binds 127.0.0.1 only', () => {
    expect(stack.pgveil.adminHost).toBe('127.0.0.1');
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
    expect(text).toMatch(
      new RegExp(`^pgveil_policy_version_info\\{version="${stack.pgveil.policies.current().version}"\\} 1$`, 'm'),
    );
    expect(text).toMatch(/^pgveil_event_queue_depth\{sink="redis:/m);
    expect(text).toMatch(/^# TYPE pgveil_events_dropped_total counter$/m);
    expect(text).toMatch(/^pgveil_upstream_up\{data_product="demo"\} 1$/m);
  });

  test('healthz and readyz', async () => {
    const health = await fetch(`http://127.0.0.1:${stack.pgveil.adminPort}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${stack.pgveil.adminPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { policies: true, audit: true, 'upstream:demo': true },
    });
  });

  test('POST /catalog/refresh makes a new table known at once', async () => {
    await stack.db.exec('CREATE TABLE public.created_later (x int); INSERT INTO public.created_later VALUES (7)');
    await stack.db.exec(`GRANT SELECT ON public.created_later TO ${stack.serviceRole}`);
    const analyst = await stack.connect('analyst');
    try {
      await expect(analyst.query('SELECT x FROM created_later')).rejects.toMatchObject({ code: '42P01' });
      const response = await post('/catalog/refresh', `Bearer ${token}`);
      expect(await response.json()).toEqual({ status: 'ok', result: { refreshed: ['demo'] } });
      expect((await analyst.query('SELECT x FROM created_later')).rows).toEqual([{ x: 7 }]);
    } finally {
      await analyst.end();
    }
  });

  test('a POST without the token, or with another one, is refused with 401 and changes nothing', async () => {
    await stack.db.exec('CREATE TABLE public.created_unseen (x int)');
    await stack.db.exec(`GRANT SELECT ON public.created_unseen TO ${stack.serviceRole}`);
    const refusals: Array<[string | undefined, string]> = [
      [undefined, 'admin actions need "authorization: bearer <token>"'],
      [`Bearer ${token.slice(0, -1)}`, 'invalid admin token'],
      [`Bearer ${token}x`, 'invalid admin token'],
      [`Basic ${Buffer.from(`admin:${token}`).toString('base64')}`, 'invalid admin token'],
      [`Bearer ${token} extra`, 'invalid admin token'],
    ];
    for (const [authorization, error] of refusals) {
      const response = await post('/catalog/refresh', authorization);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="pgveil-admin"');
      expect(await response.json()).toEqual({ error });
    }
    const analyst = await stack.connect('analyst');
    try {
      await expect(analyst.query('SELECT x FROM created_unseen')).rejects.toMatchObject({ code: '42P01' });
    } finally {
      await analyst.end();
    }
    // The scheme is case-insensitive (RFC 7235); an unknown action answers 404 only once authorized.
    expect((await post('/nothing/here', `bearer ${token}`)).status).toBe(404);
    expect((await post('/nothing/here')).status).toBe(401);
    const events = await waitForText(stack.eventsFile, '"kind":"admin_action_refused"');
    expect(events).toContain('admin action \\"/catalog/refresh\\" from 127.0.0.1 refused: invalid admin token');
    expect(events).not.toContain(token);
  });
});

describe('an admin port bound to every address but configured without a token', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('admin-open', { configLines: ['admin: { host: 0.0.0.0, port: 0 }'] });
  });
  afterAll(async () => {
    await stack.stop();
  });

  test('binds the configured address and offers no actions at all: 403 whatever the header', async () => {
    expect(stack.pgveil.adminHost).toBe('0.0.0.0');
    for (const headers of [
      {},
      { authorization: 'Bearer anything-at-all-long-enough' },
      { authorization: 'Bearer ' },
    ] as Array<Record<string, string>>) {
      const response = await fetch(`http://127.0.0.1:${stack.pgveil.adminPort}/catalog/refresh`, {
        method: 'POST',
        headers,
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({
        error: 'admin actions are disabled: no admin token is configured (admin.tokenEnv)',
      });
    }
    // Reads stay open on the configured address.
    expect((await fetch(`http://127.0.0.1:${stack.pgveil.adminPort}/healthz`)).status).toBe(200);
  });
});

test('the admin token: compared in constant time over digests; a configured but missing or short token stops the start', () => {
  expect(bearerTokenMatches('a'.repeat(20), 'a'.repeat(20))).toBe(true);
  expect(bearerTokenMatches('a'.repeat(20), 'a'.repeat(19))).toBe(false);
  expect(bearerTokenMatches('', 'a'.repeat(20))).toBe(false);
  expect(adminTokenFrom({}, undefined)).toBeUndefined();
  expect(adminTokenFrom({ T: 'x'.repeat(16) }, 'T')).toBe('x'.repeat(16));
  expect(() => adminTokenFrom({}, 'T')).toThrow(
    'admin.tokenEnv names "T", which is not set: set it or remove admin.tokenEnv (admin actions are then disabled)',
  );
  expect(() => adminTokenFrom({ T: '' }, 'T')).toThrow('admin.tokenEnv names "T", which is not set');
  expect(() => adminTokenFrom({ T: 'x'.repeat(15) }, 'T')).toThrow(
    'the admin token in "T" is shorter than 16 characters',
  );
});
