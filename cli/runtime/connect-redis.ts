/**
 * Redis for shared state. Commands fail fast while Redis is down (no offline queue, one retry), so
 * attribute refreshes report the outage instead of piling up; the client keeps reconnecting.
 */
import Redis from 'ioredis';

export async function connectRedis(url: string, waitMs = 2000): Promise<Redis> {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // Errors surface through failed commands (and become security events there); do not crash.
  redis.on('error', () => undefined);
  // Start even when Redis is down: users whose attributes live there are refused until it is back.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return redis;
}

/** A subscriber connection: queued commands and automatic re-subscription across reconnects. */
export function subscriberOf(redis: Redis): Redis {
  const subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
  subscriber.on('error', () => undefined);
  return subscriber;
}
