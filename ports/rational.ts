/**
 * Exact non-negative rationals for privacy parameters: epsilon is written in a policy as a decimal
 * (`0.5`), and every noise scale derived from it must stay exact, because floating-point noise
 * samplers leak through the gaps between representable doubles (Mironov 2012).
 */
import { decimalMicros } from '../policies';

export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

/** A decimal number as written (`1`, `0.25`, `3.125`) as an exact fraction; at most 6 decimals. */
export function decimalToRational(value: number | string): Rational {
  return reduce({ num: decimalMicros(value), den: 1_000_000n });
}

/** Millionths: how budgets are kept in Redis (integers, so INCRBY is exact). */
export function toMicros(r: Rational): bigint {
  const scaled = r.num * 1_000_000n;
  if (scaled % r.den !== 0n) throw new Error('not a multiple of one millionth');
  return scaled / r.den;
}

export function microsText(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const whole = abs / 1_000_000n;
  const fraction = (abs % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

function reduce(r: Rational): Rational {
  if (r.den === 0n) throw new Error('zero denominator');
  const g = gcd(r.num, r.den);
  return g === 0n ? { num: 0n, den: 1n } : { num: r.num / g, den: r.den / g };
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}
