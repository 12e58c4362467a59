/**
 * The dry run `pgveil explain` plans external ports with: a spend says what the server's spend
 * would decide (the budget's own Lua script on real Redis, or the memory store), and nothing is
 * written, neither the spend nor a released row.
 */
import Redis from 'ioredis';
import { dryRunBudgetStore, memoryBudgetStore, redisBudgetStore, type BudgetStore } from '../../ports/budget-store';
import { periodWindow } from '../../ports/budget-period';
import type { BudgetAccount } from '../../ports/privacy-budget';
import { dryRunSummary } from '../../ports';
import { deletePrefix, REDIS_URL, testKeyPrefix } from '../support/redis';

const prefix = testKeyPrefix('dry_run_budget');
let redis: Redis;
beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

const account = (user: string): BudgetAccount => ({
  keyPrefix: prefix,
  port: 'p_external',
  user,
  window: periodWindow('day', new Date()),
  limitMicros: 1_000_000n,
});

describe.each([
  ['redis', (): BudgetStore => redisBudgetStore(redis)],
  ['memory', (): BudgetStore => memoryBudgetStore()],
])('a dry run over the %s store', (name, storeOf) => {
  test('answers as the spend would, and spends nothing', async () => {
    const kept = storeOf();
    const dry = dryRunBudgetStore(kept);
    const a = account(`${name}_a`);
    expect(await dry.spend(a, 600_000n)).toEqual({ spent: true, spentMicros: 600_000n, remainingMicros: 400_000n });
    expect(await kept.spent(a)).toBe(0n);
    await kept.spend(a, 600_000n);
    // What the server's spend now answers, the dry run answers, and the budget stays as it is.
    const dryAnswer = await dry.spend(a, 600_000n);
    expect(dryAnswer).toEqual({ spent: false, spentMicros: 600_000n, remainingMicros: 400_000n });
    expect(await kept.spent(a)).toBe(600_000n);
    expect(await kept.spend(a, 600_000n)).toEqual(dryAnswer);
    expect(await dry.spend(a, 400_000n)).toEqual({ spent: true, spentMicros: 1_000_000n, remainingMicros: 0n });
    expect(await kept.spent(a)).toBe(600_000n);
  });

  test('reads released answers and releases none', async () => {
    const kept = storeOf();
    const dry = dryRunBudgetStore(kept);
    const key = `${prefix}dp:answer:${name}`;
    const until = new Date(Date.now() + 60_000);
    dry.storeRow(key, 0, ['7'], until);
    await new Promise((r) => setTimeout(r, 50));
    expect(await kept.cachedAnswer(key, 1)).toBeUndefined();
    kept.storeRow(key, 0, ['7'], until);
    await new Promise((r) => setTimeout(r, 50));
    expect(await dry.cachedAnswer(key, 1)).toEqual(new Map([[0, ['7']]]));
  });
});

test('explain words what an answer would spend', () => {
  const spend = { port: 'p', delta: '0' };
  expect(dryRunSummary({ ...spend, epsilon: '0.5', remaining: '1.25', cached: false })).toBe(
    'privacy: would spend epsilon 0.5 of 1.75 left on port "p" (1.25 after it); explain spent nothing',
  );
  expect(dryRunSummary({ ...spend, epsilon: '0', remaining: '1.25', cached: true })).toBe(
    'privacy: already released to this user on port "p" in this period: the server serves the same answer again and spends nothing (epsilon 1.25 left)',
  );
});
