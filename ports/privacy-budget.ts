/**
 * Privacy budgets per subscriber and port per period, in Redis so every replica spends from the
 * same one. A spend is one Lua script: read what is spent, refuse if the answer would exceed the
 * budget, else add it; Redis runs a script atomically, so two replicas answering at once can never
 * both spend the last of a budget. Amounts are integers in millionths of epsilon (INCRBY is exact).
 */
import type Redis from 'ioredis';
import type { PeriodWindow } from './budget-period';

const SPEND = `
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if spent + cost > limit then return {0, spent} end
spent = redis.call('INCRBY', KEYS[1], cost)
redis.call('EXPIREAT', KEYS[1], tonumber(ARGV[3]))
return {1, spent}
`;

export interface BudgetAccount {
  readonly keyPrefix: string;
  readonly port: string;
  readonly user: string;
  readonly window: PeriodWindow;
  /** The whole budget, in millionths of epsilon. */
  readonly limitMicros: bigint;
}

export type SpendResult = { readonly spent: boolean; readonly spentMicros: bigint; readonly remainingMicros: bigint };

function budgetKey(account: BudgetAccount): string {
  return `${account.keyPrefix}dp:budget:${account.port}:${account.window.label}:${account.user}`;
}

/** A day past the period's end: a key outlives its period only long enough to be looked at. */
function expiry(account: BudgetAccount): number {
  return Math.floor(account.window.end.getTime() / 1000) + 86_400;
}

export async function spendBudget(redis: Redis, account: BudgetAccount, costMicros: bigint): Promise<SpendResult> {
  const [ok, spent] = (await redis.eval(
    SPEND,
    1,
    budgetKey(account),
    costMicros.toString(),
    account.limitMicros.toString(),
    String(expiry(account)),
  )) as [number, number | string];
  const spentMicros = BigInt(spent);
  return { spent: ok === 1, spentMicros, remainingMicros: account.limitMicros - spentMicros };
}

export async function budgetSpent(redis: Redis, account: BudgetAccount): Promise<bigint> {
  const value = await redis.get(budgetKey(account));
  return BigInt(value ?? '0');
}
