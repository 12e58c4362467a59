/**
 * Metrics that every statement touches, counted in plain numbers and read by the registry only
 * when it is scraped. prom-client's own inc() and observe() hash and validate their labels on each
 * call; on the statement path that measured about 6 us per statement, a tenth of pgveil's CPU per
 * prepared statement (see bench/RESULTS.md). The exposition is prom-client's, unchanged.
 */
import { Counter, type LabelValues, type Metric, type Registry } from 'prom-client';

/** A counter over a handful of values of at most one label, folded into prom-client at scrape. */
export class TallyCounter<L extends string = string> {
  private readonly pending = new Map<string, number>();

  constructor(options: {
    readonly name: string;
    readonly help: string;
    readonly labelName?: L;
    readonly registry: Registry;
  }) {
    const { labelName } = options;
    const pending = this.pending;
    new Counter<L>({
      name: options.name,
      help: options.help,
      labelNames: labelName ? [labelName] : [],
      registers: [options.registry],
      collect() {
        for (const [value, n] of pending) {
          if (labelName) this.inc({ [labelName]: value } as LabelValues<L>, n);
          else this.inc(n);
        }
        pending.clear();
      },
    });
  }

  inc(n = 1, labelValue = ''): void {
    this.pending.set(labelValue, (this.pending.get(labelValue) ?? 0) + n);
  }
}

/** One line of prom-client's exposition, as its registry reads it from get(). */
type Sample = { labels: Record<string, string | number>; value: number; metricName: string };

/** A histogram without labels, bucketed here; the registry reads it as prom-client's own. */
export class TallyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    this.counts = new Float64Array(bounds.length);
    // The registry only calls get() (and reset()): prom-client's Metric type lists its own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    if (i < this.bounds.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    let cumulative = 0;
    const bucket = `${this.name}_bucket`;
    const values = this.bounds.map((le, i): Sample => ({
      labels: { le },
      value: (cumulative += this.counts[i]!),
      metricName: bucket,
    }));
    values.push({ labels: { le: '+Inf' }, value: this.count, metricName: bucket });
    values.push(
      { labels: {}, value: this.sum, metricName: `${this.name}_sum` },
      { labels: {}, value: this.count, metricName: `${this.name}_count` },
    );
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}
