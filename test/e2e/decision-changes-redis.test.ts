/**
 * Issue #12 point 4, the two changes of decision decision-changes.test.ts does not drive: a grant
 * that expires by itself (its Redis TTL runs out, nobody revokes it) and a lasting attribute
 * changed in Redis (the user's hash, which replaces the users file's value). Each must reach a
 * node-postgres named statement and a SQL PREPARE made before it (prepared again, unseen), and a
 * cursor opened before it must be refused at its next FETCH.
 */
import Redis from 'ioredis';
import type { Client } from 'pg';
import { deletePrefix, REDIS_URL, testKeyPrefix } from '../support/redis';
import { startStack, type Stack } from '../support/pgveil-stack';

const prefix = testKeyPrefix('e2e-decision-redis');
const MASKED = 'c********@example.com';
let RAW = '';
let stack: Stack;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  stack = await startStack('decision_redis', { redisPrefix: prefix });
  const steward = await stack.connect('steward');
  RAW = (await steward.query('SELECT email FROM customers WHERE id = 3')).rows[0].email as string;
  await steward.end();
});
afterAll(async () => {
  await stack.stop();
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

const grantKey = `${prefix}grant:analyst:clearance:pii`;
const attributesKey = `${prefix}attributes:analyst`;
/** Attributes are refreshed every 100 ms in the stack: a few refreshes. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 400));

async function withAnalyst(body: (analyst: Client) => Promise<void>): Promise<void> {
  const analyst = await stack.connect('analyst');
  try {
    await body(analyst);
  } finally {
    await redis.del(grantKey, attributesKey);
    await analyst.end();
  }
}

test('the raw e-mail is one the mask hides', () => {
  expect(RAW).toMatch(/^c.+@example\.com$/);
  expect(RAW).not.toBe(MASKED);
});

test('a grant that runs out by itself reaches statements prepared and a cursor opened while it held', async () => {
  await withAnalyst(async (analyst) => {
    const named = async (): Promise<unknown> =>
      (await analyst.query({ name: 'email_of', text: 'SELECT email FROM customers WHERE id = $1', values: [3] }))
        .rows[0]?.email;
    await redis.set(grantKey, '1', 'PX', 3000);
    await settle();
    expect(await named()).toBe(RAW);
    await analyst.query('PREPARE p AS SELECT email FROM customers WHERE id = $1');
    expect((await analyst.query('EXECUTE p(3)')).rows).toEqual([{ email: RAW }]);
    await analyst.query('BEGIN');
    await analyst.query('DECLARE c CURSOR FOR SELECT email FROM customers WHERE id = 3');
    // Redis drops the key at its expiry; nobody revokes anything.
    while ((await redis.exists(grantKey)) === 1) await new Promise((r) => setTimeout(r, 50));
    await settle();
    await expect(analyst.query('FETCH 1 FROM c')).rejects.toMatchObject({
      code: '42501',
      message: expect.stringContaining('cursor "c" was made under a decision that no longer holds'),
    });
    await analyst.query('ROLLBACK');
    expect(await named()).toBe(MASKED);
    expect((await analyst.query('EXECUTE p(3)')).rows).toEqual([{ email: MASKED }]);
  });
});

test('an attribute changed in Redis reaches statements prepared and a cursor opened before the change', async () => {
  await withAnalyst(async (analyst) => {
    const regions = { text: 'SELECT DISTINCT region FROM customers WHERE $1::int = 1 ORDER BY 1', values: [1] };
    const named = async (): Promise<unknown> => (await analyst.query({ name: 'regions', ...regions })).rows;
    expect(await named()).toEqual([{ region: 'EU' }]);
    await analyst.query('PREPARE r AS SELECT DISTINCT region FROM customers ORDER BY 1');
    expect((await analyst.query('EXECUTE r')).rows).toEqual([{ region: 'EU' }]);
    await analyst.query('DECLARE h CURSOR WITH HOLD FOR SELECT region FROM customers ORDER BY id');
    expect((await analyst.query('FETCH 1 FROM h')).rows).toEqual([{ region: 'EU' }]);
    await redis.hset(attributesKey, 'region', 'US');
    await settle();
    expect(await named()).toEqual([{ region: 'US' }]);
    expect((await analyst.query('EXECUTE r')).rows).toEqual([{ region: 'US' }]);
    await expect(analyst.query('FETCH 1 FROM h')).rejects.toMatchObject({
      code: '42501',
      message: expect.stringContaining('cursor "h" was made under a decision that no longer holds'),
    });
    await analyst.query('CLOSE h');
  });
});
