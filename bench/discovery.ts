/**
 * `npm run bench:discovery`: the classifiers' precision and recall on the labelled data set, per
 * classifier and overall, and the time to score 10,000 sampled values, written to its own section
 * of bench/RESULTS.md. No database needed.
 */
import { cpus, loadavg } from 'node:os';
import { labelledDataset } from './discovery-dataset';
import { measureQuality } from './discovery-quality';
import { BUILTIN_CLASSIFIERS } from '../discovery/builtin-classifiers';
import { writeResultsSection } from './results-section';

const SEED = Number(process.env.PGVEIL_DISCOVERY_SEED ?? 16);
const VALUES = Number(process.env.PGVEIL_DISCOVERY_VALUES ?? 200);
const HEADING = '## Discovery classifiers';

const columns = labelledDataset({ seed: SEED, values: VALUES, localesPerClass: 16, lookalikes: 12 });
const result = measureQuality(columns, BUILTIN_CLASSIFIERS);
const f = (x: number): string => x.toFixed(3);
const miss = (x: number): string => (x < 0.85 ? `**${f(x)}**` : f(x));
const lines = [
  HEADING,
  '',
  `Measured ${new Date().toISOString()} on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} (on a shared machine the time per value is inflated; precision and recall are not). Reproduce: \`npm run bench:discovery\` (seed ${SEED}, ${VALUES} values per column).`,
  '',
  `Data set: ${columns.length} columns (${columns.filter((c) => c.expected).length} labelled, ${columns.filter((c) => !c.expected).length} look-alikes), ${result.values} values, faker in eight locales (en_US, de, fr, es, it, pt_BR, en_GB, nl); bench/discovery-dataset.ts.`,
  '',
  `Overall: precision **${f(result.precision)}**, recall **${f(result.recall)}** (targets 0.95 and 0.90). Scoring with all ${BUILTIN_CLASSIFIERS.length} classifiers: **${result.msPer10kValues.toFixed(0)} ms per 10,000 sampled values**.`,
  '',
  '| classifier | columns | flagged | precision | recall | flagged instead |',
  '| --- | --- | --- | --- | --- | --- |',
  ...result.perClassifier.map(
    (c) =>
      `| ${c.classifier} | ${c.expected} | ${c.flagged} | ${miss(c.precision)} | ${miss(c.recall)} | ${c.confusedWith.join(', ')} |`,
  ),
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);
writeResultsSection(HEADING, lines);
