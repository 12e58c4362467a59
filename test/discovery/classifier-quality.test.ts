/**
 * The classifiers' measured quality on the labelled data set (fixed seed, eight locales, look-alikes
 * included): the targets of issue 16 hold overall, and the classifiers that miss the per-classifier
 * floor are exactly the ones docs/discovery.md explains. The full-size run is `npm run bench:discovery`.
 */
import { labelledDataset } from '../../bench/discovery-dataset';
import { measureQuality } from '../../bench/discovery-quality';
import { BUILTIN_CLASSIFIERS } from '../../discovery/builtin-classifiers';

const result = measureQuality(
  labelledDataset({ seed: 16, values: 60, localesPerClass: 8, lookalikes: 4 }),
  BUILTIN_CLASSIFIERS,
);

test('overall precision is at least 0.95 and recall at least 0.90', () => {
  expect(result.precision).toBeGreaterThanOrEqual(0.95);
  expect(result.recall).toBeGreaterThanOrEqual(0.9);
});

test('every classifier is measured on its own columns, and no look-alike column is flagged', () => {
  expect(BUILTIN_CLASSIFIERS.length).toBeGreaterThanOrEqual(30);
  for (const c of result.perClassifier) expect(c.expected).toBe(8);
  expect(result.perClassifier.flatMap((c) => c.confusedWith.filter((x) => x.startsWith('look-alike')))).toEqual([]);
});

test('only the documented classifiers fall under 0.85 precision or recall', () => {
  const under = result.perClassifier
    .filter((c) => c.precision < 0.85 || c.recall < 0.85)
    .map((c) => `${c.classifier} P=${c.precision.toFixed(2)} R=${c.recall.toFixed(2)}`);
  // phone: faker's it and en_GB numbers are outside those countries' numbering plans (e.g. +44169770786
  // is a digit short), so under a neutral name nothing can validate them (bench/RESULTS.md).
  expect(under).toEqual(['phone P=1.00 R=0.75']);
});
