/** The tallied metrics expose exactly what prom-client's own counters and histograms would. */
import { Counter, Histogram, Registry } from 'prom-client';
import { TallyCounter, TallyHistogram } from '../../ops/tally-metrics';

const BUCKETS = [0.000002, 0.00001, 0.001, 0.5];
// Below the first bound, exactly on a bound (le is inclusive), between bounds, above the last.
const VALUES = [0.0000015, 0.00001, 0.00001, 0.0003, 0.5, 7];

test('a tallied histogram is exposed as prom-client exposes the same observations', async () => {
  const own = new Registry();
  const theirs = new Registry();
  const tally = new TallyHistogram('x_seconds', 'help text', BUCKETS, own);
  const histogram = new Histogram({ name: 'x_seconds', help: 'help text', buckets: BUCKETS, registers: [theirs] });
  for (const v of VALUES) {
    tally.observe(v);
    histogram.observe(v);
  }
  const text = await own.metrics();
  expect(text).toBe(await theirs.metrics());
  expect(text).toContain('x_seconds_bucket{le="0.00001"} 3\n');
  expect(text).toContain('x_seconds_bucket{le="+Inf"} 6\n');
  expect(text).toContain('x_seconds_count 6');
});

test('a tallied counter, with and without a label, across scrapes', async () => {
  const own = new Registry();
  const theirs = new Registry();
  const byDecision = new TallyCounter({
    name: 'statements_total',
    help: 'by decision',
    labelName: 'decision',
    registry: own,
  });
  const rows = new TallyCounter({ name: 'rows_total', help: 'rows', registry: own });
  const theirByDecision = new Counter({
    name: 'statements_total',
    help: 'by decision',
    labelNames: ['decision'],
    registers: [theirs],
  });
  const theirRows = new Counter({ name: 'rows_total', help: 'rows', registers: [theirs] });
  const step = (decision: string, n: number): void => {
    byDecision.inc(1, decision);
    theirByDecision.inc({ decision });
    rows.inc(n);
    theirRows.inc(n);
  };
  step('rewritten', 3);
  step('refused', 0);
  step('rewritten', 5);
  expect(await own.metrics()).toBe(await theirs.metrics());
  // Counts tallied after a scrape add to what that scrape folded in.
  step('allowed', 2);
  step('rewritten', 1);
  const text = await own.metrics();
  expect(text).toBe(await theirs.metrics());
  expect(text).toContain('statements_total{decision="rewritten"} 3\n');
  expect(text).toContain('rows_total 11');
});
