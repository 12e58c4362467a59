/**
 * Precision and recall of the classifiers on the labelled data set, per classifier and overall, and
 * time per 10,000 values.
 */
import { scoreColumn } from '../discovery/score-column';
import type { Classifier } from '../discovery/classifier';
import type { LabelledColumn } from './discovery-dataset';

export interface ClassifierQuality {
  readonly classifier: string;
  readonly expected: number;
  readonly flagged: number;
  readonly truePositives: number;
  readonly precision: number;
  readonly recall: number;
  /** Columns it flagged that were something else (labels), for the report. */
  readonly confusedWith: readonly string[];
}

export interface QualityResult {
  readonly perClassifier: readonly ClassifierQuality[];
  readonly precision: number;
  readonly recall: number;
  readonly values: number;
  readonly msPer10kValues: number;
}

export function measureQuality(
  columns: readonly LabelledColumn[],
  classifiers: readonly Classifier[],
  minConfidence = 0.6,
): QualityResult {
  const flagged = new Map<string, LabelledColumn[]>();
  let values = 0;
  // One-time set-up (dictionaries built on first use) is not part of the time per value.
  for (const c of classifiers) c.grade('warm-up');
  const started = process.hrtime.bigint();
  const results = columns.map((column) => {
    values += column.values.length;
    return scoreColumn(column, classifiers, minConfidence).map((p) => p.classifier);
  });
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  columns.forEach((column, i) => {
    for (const id of results[i]!) flagged.set(id, [...(flagged.get(id) ?? []), column]);
  });
  let tp = 0;
  let predicted = 0;
  let expectedTotal = 0;
  const perClassifier = classifiers.map((c) => {
    const expected = columns.filter((col) => col.expected === c.id).length;
    const got = flagged.get(c.id) ?? [];
    const truePositives = got.filter((col) => col.expected === c.id).length;
    tp += truePositives;
    predicted += got.length;
    expectedTotal += expected;
    return {
      classifier: c.id,
      expected,
      flagged: got.length,
      truePositives,
      precision: got.length === 0 ? 1 : truePositives / got.length,
      recall: expected === 0 ? 1 : truePositives / expected,
      confusedWith: [
        ...new Set(
          got.filter((col) => col.expected !== c.id).map((col) => `${col.expected ?? 'look-alike'}:${col.name}`),
        ),
      ],
    };
  });
  return {
    perClassifier,
    precision: predicted === 0 ? 1 : tp / predicted,
    recall: expectedTotal === 0 ? 1 : tp / expectedTotal,
    values,
    msPer10kValues: (elapsedMs / values) * 10_000,
  };
}
