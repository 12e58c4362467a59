/**
 * Released answers, per subscriber, port, period and statement (the rewritten SQL, so a policy
 * change makes a new statement). Asking again returns the answer already released instead of new
 * noise: averaging repeated answers would otherwise wear the noise away, each repetition costing
 * budget for nothing. Each row is stored as it is released (HSETNX: the first release of a row
 * stays); an answer is served from the cache only when every row of it is there.
 */
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import type { BudgetAccount } from './privacy-budget';

export function answerKey(account: BudgetAccount, rewrittenSql: string): string {
  const digest = createHash('sha256').update(rewrittenSql).digest('hex').slice(0, 32);
  return `${account.keyPrefix}dp:answer:${account.port}:${account.window.label}:${account.user}:${digest}`;
}

/** The cached rows by index, or undefined when the answer is not (completely) cached. */
export async function cachedAnswer(
  redis: Redis,
  key: string,
  rows: number,
): Promise<Map<number, (string | null)[]> | undefined> {
  const stored = await redis.hgetall(key);
  const entries = Object.entries(stored);
  if (entries.length !== rows) return undefined;
  return new Map(entries.map(([index, json]) => [Number(index), JSON.parse(json) as (string | null)[]]));
}

export function storeRow(
  redis: Redis,
  key: string,
  index: number,
  values: readonly (string | null)[],
  expiresAt: Date,
): void {
  // Released already: a failed write only means the next identical question spends again.
  redis
    .multi()
    .hsetnx(key, String(index), JSON.stringify(values))
    .expireat(key, Math.floor(expiresAt.getTime() / 1000) + 86_400)
    .exec()
    .catch(() => undefined);
}
