/**
 * The result transform of an external port's answer: every aggregate upstream computed exactly is
 * replaced, in pgveil, by the same aggregate plus discrete Laplace noise (exact integers, noise from
 * node:crypto). Counts are then floored at 0 and averages computed from the noisy sum and count and
 * clamped to the measure's bounds: post-processing, which costs no privacy.
 *
 * A group's released values are kept (for the plan, and in Redis for the period): the same
 * statement asked again, prepared and executed again, or answered by another replica, releases
 * the same values, so repetition never averages the noise away. A value the transform cannot read
 * is sent as NULL: fail closed, never the exact value.
 */
import type { ResultTransform } from '../rewriter';
import type { AnswerColumn, NoiseScale } from './noisy-columns';
import { sampleDiscreteLaplace } from './discrete-laplace';
import type { RandomSource } from './random-source';
import { readDataRow, writeDataRow } from '../proxy';

export interface NoisyAnswerOptions {
  readonly columns: readonly AnswerColumn[];
  readonly random: RandomSource;
  /** Rows already released for this statement, by group index. */
  readonly released?: ReadonlyMap<number, readonly (string | null)[]>;
  /** Called once per newly released row (the answer cache). */
  readonly onRelease?: (group: number, values: readonly (string | null)[]) => void;
}

const INTEGER = /^(\d+):(-?\d+)$/;
const RATIO = /^(\d+):(-?\d+)\/(\d+)$/;

export function noisyAnswer(options: NoisyAnswerOptions): ResultTransform {
  const released = new Map(options.released ?? []);
  const noise = (scale: NoiseScale): bigint => sampleDiscreteLaplace(options.random, scale.t, scale.s);
  return {
    dataRow(frame: Buffer): Buffer {
      const values = readDataRow(frame);
      if (values.length !== options.columns.length) return writeDataRow(values.map(() => null));
      let group: number | undefined;
      const exact = values.map((value, i) => {
        const column = options.columns[i]!;
        if (column.kind === 'dimension' || value === null) return undefined;
        const match = (column.kind === 'avg' ? RATIO : INTEGER).exec(value.toString('utf8'));
        if (!match) return undefined;
        group ??= Number(match[1]);
        return match.slice(2).map(BigInt);
      });
      let noisy = group === undefined ? undefined : released.get(group);
      if (noisy === undefined) {
        noisy = options.columns.map((column, i) => {
          const parts = exact[i];
          if (column.kind === 'dimension' || parts === undefined) return null;
          if (column.kind === 'count') return maxBigint(parts[0]! + noise(column.noise), 0n).toString();
          if (column.kind === 'sum') return decimalText(parts[0]! + noise(column.noise), column.decimals);
          const sum = parts[0]! + noise(column.sumNoise);
          const count = maxBigint(parts[1]! + noise(column.countNoise), 1n);
          const mean = Number(sum) / Number(count) / 10 ** column.decimals;
          return Math.min(column.upper, Math.max(column.lower, mean)).toFixed(column.decimals + 2);
        });
        if (group !== undefined) {
          released.set(group, noisy);
          options.onRelease?.(group, noisy);
        }
      }
      const answer = noisy;
      const out = values.map((value, i) => {
        const text = answer[i];
        return options.columns[i]!.kind === 'dimension'
          ? value
          : text === null || text === undefined
            ? null
            : Buffer.from(text, 'utf8');
      });
      return writeDataRow(out);
    },
  };
}

const maxBigint = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** An integer count of 10^-decimals as a decimal: 12345, 2 -> 123.45. */
function decimalText(units: bigint, decimals: number): string {
  if (decimals === 0) return units.toString();
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(decimals + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}
