/**
 * A differencing attack cannot single a person out. The attacker knows every customer but one and
 * asks, within the budget (epsilon 2 = four answers of 0.5), the count with the person and the
 * count without, twice each, then guesses whether the person is in the data. Under
 * epsilon-differential privacy no guess succeeds with probability above e^eps / (1 + e^eps) =
 * 0.881 on a fair coin; without noise it would succeed always. Over 20,000 simulated attacks on the
 * real noise path (the result transform an external port uses, fed DataRows) the success rate stays
 * below that bound plus the Hoeffding margin for failure probability 1e-6.
 */
import { noisyAnswer } from '../../ports/noisy-answer';
import { CryptoRandom } from '../../ports/random-source';
import { readDataRow, writeDataRow } from '../../proxy/protocol/data-row';
import type { AnswerColumn } from '../../ports/noisy-columns';

const TRIALS = 20_000;
const EPSILON_PER_ANSWER = { num: 1n, den: 2n };
// COUNT(*) with maxRowsPerUnit 1: sensitivity 1, scale 1 / 0.5 = 2 = t/s.
const COUNT: AnswerColumn = { kind: 'count', noise: { t: 1n * EPSILON_PER_ANSWER.den, s: EPSILON_PER_ANSWER.num } };

test('the best differencing attack within the budget succeeds no more often than epsilon-DP allows', () => {
  const random = new CryptoRandom();
  const ask = (exact: number): number => {
    // A fresh transform per answer, as every new statement gets one.
    const transform = noisyAnswer({ columns: [COUNT], random });
    const row = transform.dataRow(writeDataRow([Buffer.from(`0:${exact}`)]));
    return Number(readDataRow(row)[0]!.toString());
  };
  let correct = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const present = random.below(2n) === 1n;
    const others = 332;
    const withPerson = ask(others + (present ? 1 : 0)) + ask(others + (present ? 1 : 0));
    const withoutPerson = ask(others) + ask(others);
    // The likelihood-ratio guess for symmetric noise: is the difference of the sums positive?
    const difference = withPerson - withoutPerson;
    const guess = difference > 0 || (difference === 0 && random.below(2n) === 1n);
    if (guess === present) correct++;
  }
  const bound = Math.exp(2) / (1 + Math.exp(2));
  const margin = Math.sqrt(Math.log(1 / 1e-6) / (2 * TRIALS));
  const rate = correct / TRIALS;
  expect(rate).toBeLessThan(bound + margin);
  // The noise is not vacuous either: a guess far better than chance would show a broken mechanism
  // as much as one at 100%; the attack does beat a coin, as it should with epsilon 2 spent.
  expect(rate).toBeGreaterThan(0.5);
});
