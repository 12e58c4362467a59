/** Tests use the machine's real Redis (127.0.0.1:6379) under a key prefix of their own. */
import type Redis from 'ioredis';
import { randomBytes } from 'node:crypto';

export const REDIS_URL = process.env.PGVEIL_TEST_REDIS ?? 'redis://127.0.0.1:6379';

export function testKeyPrefix(name: string): string {
  return `pgveil-test:${name}:${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under prefix (SCAN, never KEYS). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
