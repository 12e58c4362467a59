/**
 * Where budgets and released answers live. Redis when pgveil is configured with it (shared by every
 * replica: privacy-budget.ts, answer-cache.ts); otherwise this process's memory, which is exact for
 * a single pgveil (one thread spends at a time) but starts afresh when pgveil restarts: start-up
 * warns about it, and docs/output-ports.md says to configure Redis for anything but a demo.
 */
import type Redis from 'ioredis';
import { budgetSpent, spendBudget, type BudgetAccount, type SpendResult } from './privacy-budget';
import { cachedAnswer, storeRow } from './answer-cache';

export interface BudgetStore {
  readonly shared: boolean;
  spend(account: BudgetAccount, costMicros: bigint): Promise<SpendResult>;
  spent(account: BudgetAccount): Promise<bigint>;
  cachedAnswer(key: string, rows: number): Promise<Map<number, (string | null)[]> | undefined>;
  storeRow(key: string, index: number, values: readonly (string | null)[], expiresAt: Date): void;
}

export function redisBudgetStore(redis: Redis): BudgetStore {
  return {
    shared: true,
    spend: (account, cost) => spendBudget(redis, account, cost),
    spent: (account) => budgetSpent(redis, account),
    cachedAnswer: (key, rows) => cachedAnswer(redis, key, rows),
    storeRow: (key, index, values, expiresAt) => storeRow(redis, key, index, values, expiresAt),
  };
}

export function memoryBudgetStore(now: () => Date = () => new Date()): BudgetStore {
  const spent = new Map<string, { micros: bigint; until: number }>();
  const answers = new Map<string, { rows: Map<number, (string | null)[]>; until: number }>();
  const keyOf = (a: BudgetAccount): string => `${a.port}\0${a.window.label}\0${a.user}`;
  const purge = (): void => {
    const t = now().getTime();
    for (const [k, v] of spent) if (v.until <= t) spent.delete(k);
    for (const [k, v] of answers) if (v.until <= t) answers.delete(k);
  };
  return {
    shared: false,
    async spend(account, cost) {
      purge();
      const current = spent.get(keyOf(account))?.micros ?? 0n;
      if (current + cost > account.limitMicros)
        return { spent: false, spentMicros: current, remainingMicros: account.limitMicros - current };
      spent.set(keyOf(account), { micros: current + cost, until: account.window.end.getTime() });
      return { spent: true, spentMicros: current + cost, remainingMicros: account.limitMicros - current - cost };
    },
    async spent(account) {
      return spent.get(keyOf(account))?.micros ?? 0n;
    },
    async cachedAnswer(key, rows) {
      const stored = answers.get(key);
      return stored && stored.rows.size === rows ? new Map(stored.rows) : undefined;
    },
    storeRow(key, index, values, expiresAt) {
      const stored = answers.get(key) ?? { rows: new Map(), until: expiresAt.getTime() };
      if (!stored.rows.has(index)) stored.rows.set(index, [...values]);
      answers.set(key, stored);
    },
  };
}

/**
 * `pgveil explain`'s view of a store: it reads what is spent and what was released, as the server's
 * store does, but a spend only says whether it would succeed (as the spend script decides) and
 * nothing is written, so explaining a statement spends no budget and releases no answer.
 */
export function dryRunBudgetStore(store: BudgetStore): BudgetStore {
  return {
    shared: store.shared,
    async spend(account, cost) {
      const spent = await store.spent(account);
      const fits = spent + cost <= account.limitMicros;
      const after = fits ? spent + cost : spent;
      return { spent: fits, spentMicros: after, remainingMicros: account.limitMicros - after };
    },
    spent: (account) => store.spent(account),
    cachedAnswer: (key, rows) => store.cachedAnswer(key, rows),
    storeRow: () => undefined,
  };
}
