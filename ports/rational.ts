/**
 * Exact non-negative rationals for privacy parameters: epsilon is written in a policy as a decimal
 * (`0.5`), and every noise scale derived from it must stay exact, because floating-point noise
 * samplers leak through the gaps between representable doubles (Mironov 2012).
 */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

/** A decimal number as written (`1`, `0.25`, `3.125`) as an exact fraction; at most 6 decimals. */
export function decimalToRational(value: number | string): Rational {
  const text = typeof value === 'number' ? numberText(value) : value.trim();
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a non-negative decimal with at most 6 decimals`);
  const decimals = match[2] ?? '';
  const den = 10n ** BigInt(decimals.length);
  return reduce({ num: BigInt(match[1]! + decimals), den });
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

function numberText(value: number): string {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${value} is not a non-negative finite number`);
  // toFixed(6) then trim: 0.1 prints as 0.1, not 0.1000000000000000055...; a value it would round
  // is refused, never silently changed.
  const fixed = value.toFixed(6);
  if (Number(fixed) !== value) throw new Error(`${value} has more than 6 decimals`);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}
