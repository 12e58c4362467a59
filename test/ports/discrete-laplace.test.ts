/**
 * The noise matches its specification. Over n draws the empirical CDF stays within
 * eps_n = sqrt(ln(2 / p) / (2 n)) of the true CDF everywhere, except with probability at most p
 * (Dvoretzky-Kiefer-Wolfowitz with Massart's constant, valid for every distribution, discrete ones
 * included). With p = 1e-6 a correct sampler fails this test once in a million runs; the test also
 * shows it would catch a sampler whose scale is 15% off.
 */
import { CryptoRandom } from '../../ports/random-source';
import { bernoulliExp, discreteLaplaceCdf, sampleDiscreteLaplace } from '../../ports/discrete-laplace';

const FAILURE_PROBABILITY = 1e-6;
const DRAWS = 100_000;
const bound = Math.sqrt(Math.log(2 / FAILURE_PROBABILITY) / (2 * DRAWS));

function largestCdfGap(samples: readonly number[], cdf: (z: number) => number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  let gap = 0;
  for (let i = 0; i < sorted.length; i++) {
    // At each distinct value z: the empirical CDF just below and at z against the true CDF.
    if (i + 1 < sorted.length && sorted[i + 1] === sorted[i]) continue;
    const z = sorted[i]!;
    const below = sorted.findIndex((v) => v === z) / sorted.length;
    gap = Math.max(gap, Math.abs((i + 1) / sorted.length - cdf(z)), Math.abs(below - cdf(z - 1)));
  }
  return gap;
}

describe('discrete Laplace (Canonne, Kamath, Steinke)', () => {
  const random = new CryptoRandom();

  test.each([
    ['scale 3/2', 3n, 2n],
    ['scale 10', 10n, 1n],
    ['scale 1/4', 1n, 4n],
  ])('%s: the empirical CDF of 100,000 draws stays within the DKW bound for failure probability 1e-6', (_, t, s) => {
    const scale = Number(t) / Number(s);
    const samples = Array.from({ length: DRAWS }, () => Number(sampleDiscreteLaplace(random, t, s)));
    const gap = largestCdfGap(samples, (z) => discreteLaplaceCdf(z, scale));
    expect(bound).toBeCloseTo(0.00852, 5);
    expect(gap).toBeLessThan(bound);
  });

  test('the test has power: the CDFs of scales 10 and 11.5 differ by more than twice the bound, so a sampler 15% off fails it', () => {
    let distance = 0;
    for (let z = -100; z <= 100; z++)
      distance = Math.max(distance, Math.abs(discreteLaplaceCdf(z, 10) - discreteLaplaceCdf(z, 11.5)));
    expect(distance).toBeGreaterThan(2 * bound);
  });

  test('Bernoulli(exp(-n/d)) is exact: its frequency over 100,000 trials stays within the Hoeffding bound for failure probability 1e-6', () => {
    const trials = 100_000;
    const margin = Math.sqrt(Math.log(2 / FAILURE_PROBABILITY) / (2 * trials));
    for (const [n, d] of [
      [1n, 3n],
      [5n, 2n],
    ] as const) {
      let hits = 0;
      for (let i = 0; i < trials; i++) if (bernoulliExp(random, n, d)) hits++;
      expect(Math.abs(hits / trials - Math.exp(-Number(n) / Number(d)))).toBeLessThan(margin);
    }
  });

  test('parameters must be positive integers', () => {
    expect(() => sampleDiscreteLaplace(random, 0n, 1n)).toThrow('positive integers');
  });
});
