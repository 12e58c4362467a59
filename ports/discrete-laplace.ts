/**
 * The discrete Laplace mechanism, sampled exactly with integer arithmetic after Canonne, Kamath and
 * Steinke, "The Discrete Gaussian for Differential Privacy" (NeurIPS 2020), Algorithms 1 and 2.
 *
 * Lap_Z(t/s) has pmf P[Z = z] = (e^{s/t} - 1) / (e^{s/t} + 1) * e^{-|z| s/t} on the integers. Added
 * to an integer query of L1 sensitivity D, scale t/s = D/epsilon gives epsilon-differential privacy
 * (delta = 0). Every step is a comparison of integers, so there is no floating-point value whose
 * low bits could reveal the true answer.
 */
import type { RandomSource } from './random-source';

/** Bernoulli(num/den), 0 <= num <= den. */
function bernoulli(random: RandomSource, num: bigint, den: bigint): boolean {
  return random.below(den) < num;
}

/** Bernoulli(exp(-num/den)), num >= 0 (CKS Algorithm 1). */
export function bernoulliExp(random: RandomSource, num: bigint, den: bigint): boolean {
  // exp(-g) = exp(-1)^floor(g) * exp(-(g - floor g)): one trial per whole unit, then the fraction.
  while (num > den) {
    if (!bernoulliExpAtMostOne(random, 1n, 1n)) return false;
    num -= den;
  }
  return bernoulliExpAtMostOne(random, num, den);
}

/** Bernoulli(exp(-g)) for 0 <= g = num/den <= 1: the parity of the first failure of Bernoulli(g/k). */
function bernoulliExpAtMostOne(random: RandomSource, num: bigint, den: bigint): boolean {
  let k = 1n;
  while (bernoulli(random, num, den * k)) k++;
  return k % 2n === 1n;
}

/** One sample of Lap_Z(t/s): integer noise of scale t/s (CKS Algorithm 2). */
export function sampleDiscreteLaplace(random: RandomSource, t: bigint, s: bigint): bigint {
  if (t < 1n || s < 1n) throw new Error('discrete Laplace parameters must be positive integers');
  for (;;) {
    const u = random.below(t);
    if (!bernoulliExp(random, u, t)) continue;
    let v = 0n;
    while (bernoulliExp(random, 1n, 1n)) v++;
    // x = u + t v is geometric with parameter exp(-1/t); y = floor(x / s) with parameter exp(-s/t).
    const y = (u + t * v) / s;
    const negative = bernoulli(random, 1n, 2n);
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/** P[Z <= z] for Lap_Z(t/s), in floating point: for tests and documentation, never for sampling. */
export function discreteLaplaceCdf(z: number, scale: number): number {
  const q = Math.exp(-1 / scale);
  // P[Z = k] = (1-q)/(1+q) q^|k|; the tail sums are geometric.
  if (z < 0) return q ** -z / (1 + q);
  return 1 - q ** (z + 1) / (1 + q);
}
