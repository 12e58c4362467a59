/**
 * `pgveil explain` asks the gate the server uses: a grant of PII clearance in Redis unmasks the
 * e-mail in explain exactly as it does through the proxy.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import Redis from 'ioredis';
import { startStack, type Stack } from '../support/pgveil-stack';
import { deletePrefix, REDIS_URL, testKeyPrefix } from '../support/redis';

const run = promisify(execFile);
const CLI = join(__dirname, '../../dist/cli/pgveil.js');
const prefix = testKeyPrefix('explain-gate');
let stack: Stack;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  stack = await startStack('explain_gate', { redisPrefix: prefix });
});
afterAll(async () => {
  await stack.stop();
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

const explain = async (sql: string): Promise<string> =>
  (await run('node', [CLI, 'explain', '--config', join(stack.dir, 'pgveil.yaml'), '--user', 'analyst', sql])).stdout;

test('a Redis grant changes what explain shows, as it changes what the proxy returns', async () => {
  const masked = await explain('SELECT email FROM customers WHERE id = 3');
  expect(masked).toContain('mask-pii (global) email: mask_email');
  const analyst = await stack.connect('analyst');
  try {
    const before = (await analyst.query('SELECT email FROM customers WHERE id = 3')).rows[0].email as string;
    expect(before).toMatch(/^c\*+@example\.com$/);
    await redis.set(`${prefix}grant:analyst:clearance:pii`, '1', 'EX', 600);
    const granted = await explain('SELECT email FROM customers WHERE id = 3');
    expect(granted).not.toContain('email: mask_email');
    expect(granted).not.toEqual(masked);
    // The proxy follows the same grant (its attribute refresh runs every 100 ms in this stack).
    const deadline = Date.now() + 10_000;
    let after = before;
    while (after === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      after = (await analyst.query('SELECT email FROM customers WHERE id = 3')).rows[0].email as string;
    }
    expect(after).not.toContain('*');
  } finally {
    await redis.del(`${prefix}grant:analyst:clearance:pii`);
    await analyst.end();
  }
}, 120_000); // two CLI processes, each loading the parser: slow on a loaded 2-core machine
