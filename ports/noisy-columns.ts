/**
 * The noisy aggregates of one answer and the noise each one needs. Sensitivity is the most one
 * privacy unit can move the aggregate's whole column (all groups together, since a unit
 * contributes at most maxRowsPerUnit rows to the whole answer): maxRowsPerUnit for a count,
 * maxRowsPerUnit * max(|lower|, |upper|) for a sum, in units of 10^-decimals. The answer's epsilon
 * is split evenly over its noisy aggregates (AVG is a noisy sum over a noisy count: two).
 */
import type { AggregateQuery } from './aggregate-query';
import type { Rational } from './rational';

export interface NoiseScale {
  /** Lap_Z(t/s): scale t/s = sensitivity / (epsilon share). */
  readonly t: bigint;
  readonly s: bigint;
}

export type AnswerColumn =
  | { readonly kind: 'dimension' }
  | { readonly kind: 'count'; readonly noise: NoiseScale }
  | { readonly kind: 'sum'; readonly noise: NoiseScale; readonly decimals: number }
  | {
      readonly kind: 'avg';
      readonly sumNoise: NoiseScale;
      readonly countNoise: NoiseScale;
      readonly decimals: number;
      readonly lower: number;
      readonly upper: number;
    };

function noisyAggregateCount(query: AggregateQuery): number {
  return query.outputs.reduce((n, o) => n + (o.kind === 'dimension' ? 0 : o.kind === 'avg' ? 2 : 1), 0);
}

export function answerColumns(query: AggregateQuery, epsilon: Rational): AnswerColumn[] {
  const shares = BigInt(noisyAggregateCount(query));
  const k = BigInt(query.published.maxRowsPerUnit);
  // scale = sensitivity / (epsilon / shares) = sensitivity * shares * den / num.
  const scale = (sensitivity: bigint): NoiseScale => ({ t: sensitivity * shares * epsilon.den, s: epsilon.num });
  return query.outputs.map((o): AnswerColumn => {
    if (o.kind === 'dimension') return { kind: 'dimension' };
    if (o.kind === 'count') return { kind: 'count', noise: scale(k) };
    const bounds = query.published.measures![o.column]!;
    const decimals = bounds.decimals ?? 0;
    const largest = BigInt(Math.ceil(Math.max(Math.abs(bounds.lower), Math.abs(bounds.upper)) * 10 ** decimals));
    const sumNoise = scale(k * (largest > 0n ? largest : 1n));
    if (o.kind === 'sum') return { kind: 'sum', noise: sumNoise, decimals };
    return { kind: 'avg', sumNoise, countNoise: scale(k), decimals, lower: bounds.lower, upper: bounds.upper };
  });
}
