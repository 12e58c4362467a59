/** The live attributes and grants in Redis, when the configuration names a Redis. */
import type Redis from 'ioredis';
import { RedisAttributeSource } from '../../policies';
import type { ServerConfig } from '../config/server-config';

export interface AttributeSourceEvents {
  onOutage(detail: string): void;
  onRecovery(): void;
}

export function attributeSourceOf(
  config: ServerConfig,
  redis: Redis | undefined,
  events: AttributeSourceEvents,
): RedisAttributeSource | undefined {
  if (!redis || !config.redis) return undefined;
  return new RedisAttributeSource(redis, {
    keyPrefix: config.redis.keyPrefix,
    refreshMs: config.redis.refreshMs,
    maxStaleMs: config.redis.maxStaleMs,
    onOutage: (detail) => events.onOutage(detail),
    onRecovery: () => events.onRecovery(),
  });
}
