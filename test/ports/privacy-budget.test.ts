/**
 * The privacy budget through a real pgveil: epsilon 0.5 per answer, 2 per partner and day. A
 * differencing attack (the same count with and without one person, asked in ever new spellings so
 * no answer is served from the cache) gets exactly four answers, then 53400 with what is left;
 * `SHOW pgveil.budget` tells it; the refusal is a security event; a second replica sharing the
 * Redis budget cannot add answers; the identical statement asked again is the released answer.
 */
import { startPortStack, type PortStack } from './port-stack';
import { waitForText } from '../support/wait-for-text';
import { spendBudget, budgetSpent, type BudgetAccount } from '../../ports/privacy-budget';
import { periodWindow } from '../../ports/budget-period';
import Redis from 'ioredis';
import { REDIS_URL, deletePrefix, testKeyPrefix } from '../support/redis';

let s: PortStack;
beforeAll(async () => {
  s = await startPortStack('ports_budget', { epsilonPerAnswer: 0.5, budget: 2 });
});
afterAll(async () => {
  await s?.stop();
});

test('a differencing attack gets four answers at epsilon 0.5, then the budget refuses with what is left', async () => {
  const partner = await s.connect('partner');
  try {
    const answers: number[] = [];
    let refusal: { code?: string; message?: string } | undefined;
    for (let i = 0; i < 20 && !refusal; i++) {
      // Customer 3 (EU) in, then out; "AND id > -i" makes each statement new, so none is cached.
      const without = i % 2 === 1 ? ' AND id <> 3' : '';
      try {
        const { rows } = await partner.query(
          `SELECT count(*) FROM customers WHERE region = 'EU'${without} AND id > ${-i}`,
        );
        answers.push(Number(rows[0].count));
      } catch (error) {
        refusal = error as { code?: string; message?: string };
      }
    }
    expect(answers).toHaveLength(4);
    expect(refusal?.code).toBe('53400');
    expect(refusal?.message).toMatch(
      /^privacy budget of user "partner" on external port "demo_external" is exhausted: this answer needs epsilon 0\.5, 0 of 2 is left until \d{4}-\d\d-\d\dT00:00:00\.000Z$/,
    );
    const budget = await partner.query('SHOW pgveil.budget');
    expect(budget.rows[0]).toMatchObject({
      port: 'demo_external',
      budget_epsilon: '2',
      spent_epsilon: '2',
      remaining_epsilon: '0',
      epsilon_per_answer: '0.5',
    });
    const events = await waitForText(s.stack.eventsFile, 'privacy_budget_exhausted');
    expect(events).toContain('"kind":"privacy_budget_exhausted"');
    // An answer released before is still served, for free: it reveals nothing new.
    const again = await partner.query(`SELECT count(*) FROM customers WHERE region = 'EU' AND id > 0`);
    expect(Number(again.rows[0].count)).toBe(answers[0]);
  } finally {
    await partner.end();
  }
});

test('the spend is atomic across replicas: 40 concurrent spends of 0.5 from a budget of 2 from two connections succeed exactly 4 times', async () => {
  const prefix = testKeyPrefix('ports_atomic');
  const replicas = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
  try {
    const account: BudgetAccount = {
      keyPrefix: prefix,
      port: 'p',
      user: 'u',
      window: periodWindow('day', new Date()),
      limitMicros: 2_000_000n,
    };
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => spendBudget(replicas[i % 2]!, account, 500_000n)),
    );
    expect(results.filter((r) => r.spent)).toHaveLength(4);
    expect(results.filter((r) => !r.spent).every((r) => r.remainingMicros === 0n)).toBe(true);
    expect(await budgetSpent(replicas[0]!, account)).toBe(2_000_000n);
  } finally {
    await deletePrefix(replicas[0]!, prefix);
    for (const r of replicas) r.disconnect();
  }
});
