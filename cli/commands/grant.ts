/**
 * Attributes in Redis, shared by every replica: `pgveil grant USER ATTRIBUTE VALUE --for 2h`
 * (just-in-time, expires by itself), `pgveil revoke USER ATTRIBUTE [VALUE]`, and
 * `pgveil attribute set USER ATTRIBUTE VALUE` (lasting).
 */
import type { Command } from 'commander';
import type Redis from 'ioredis';
import { loadServerConfig } from '../config/load-server-config';
import { RedisAttributeSource } from '../../policies';
import { connectRedis } from '../runtime/connect-redis';

async function withAttributes<T>(configFile: string, fn: (source: RedisAttributeSource) => Promise<T>): Promise<T> {
  const config = loadServerConfig(configFile);
  if (!config.redis) throw new Error(`"${configFile}" configures no redis: grants need the shared attribute store`);
  const redis: Redis = await connectRedis(config.redis.url);
  const source = new RedisAttributeSource(redis, {
    keyPrefix: config.redis.keyPrefix,
    refreshMs: config.redis.refreshMs,
    maxStaleMs: config.redis.maxStaleMs,
  });
  try {
    return await fn(source);
  } finally {
    source.close();
    redis.disconnect();
  }
}

/** `90s`, `15m`, `2h`, `1d` -> seconds. */
function parseDuration(text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text);
  if (!match) throw new Error(`invalid duration "${text}": use a number and s, m, h or d, like 2h`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

export function register(program: Command): void {
  program
    .command('grant')
    .description('grant a user an attribute value for a limited time (expires by itself)')
    .requiredOption('-c, --config <file>', 'pgveil.yaml')
    .requiredOption('--for <duration>', 'how long, e.g. 30m, 2h, 1d')
    .argument('<user>')
    .argument('<attribute>')
    .argument('<value>')
    .action(async (user: string, attribute: string, value: string, options: { config: string; for: string }) => {
      const seconds = parseDuration(options.for);
      await withAttributes(options.config, (s) => s.grant(user, attribute, value, seconds));
      process.stdout.write(`granted ${attribute}=${value} to ${user} for ${options.for}\n`);
    });
  program
    .command('revoke')
    .description('revoke a grant (one value, or every value of the attribute)')
    .requiredOption('-c, --config <file>', 'pgveil.yaml')
    .argument('<user>')
    .argument('<attribute>')
    .argument('[value]')
    .action(async (user: string, attribute: string, value: string | undefined, options: { config: string }) => {
      const removed = await withAttributes(options.config, (s) => s.revoke(user, attribute, value));
      process.stdout.write(`revoked ${removed} grant(s)\n`);
    });
  program
    .command('attribute')
    .description('set a lasting user attribute in the shared store')
    .requiredOption('-c, --config <file>', 'pgveil.yaml')
    .argument('<user>')
    .argument('<attribute>')
    .argument('<value>')
    .action(async (user: string, attribute: string, value: string, options: { config: string }) => {
      await withAttributes(options.config, (s) => s.setAttribute(user, attribute, value));
      process.stdout.write(`set ${attribute}=${value} for ${user}\n`);
    });
}
