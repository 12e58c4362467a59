/**
 * Continuous discovery: after each catalog refresh of a data product, the relations that are new or
 * whose columns changed are sampled (a few per refresh, with a small row cap and a time budget, in
 * the background: statements never wait for it), and a column a classifier flags that no tag covers
 * raises one `untagged_sensitive_column` event per column and classifier. A gauge counts such
 * columns per data product; a column leaves the count once a tag covers it (policy file or comment).
 */
import type { CatalogSnapshot } from '../rewriter';
import type { DataProductConfig } from '../policies';
import { columnTags, tagMatches } from '../policies';
import type { Classifier } from './classifier';
import { discoverProduct } from './discover-product';

interface UntaggedFinding {
  readonly dataProduct: string;
  readonly relation: string;
  readonly column: string;
  readonly classifier: string;
  readonly proposedTags: readonly string[];
  readonly confidence: number;
}

export interface ContinuousDiscoveryOptions {
  readonly product: (name: string) => DataProductConfig | undefined;
  readonly classifiers: () => readonly Classifier[];
  readonly rows: number;
  readonly maxRelations: number;
  readonly budgetMs: number;
  readonly statementTimeoutMs: number;
  readonly maxValueChars: number;
  readonly minConfidence: number;
  readonly excludeSchemas: readonly string[];
  readonly onFinding: (finding: UntaggedFinding) => void;
  readonly onCount: (dataProduct: string, untagged: number) => void;
  readonly onError?: (dataProduct: string, error: Error) => void;
}

interface ProductState {
  /** `schema.name` -> fingerprint of its columns, as last sampled. */
  readonly seen: Map<string, string>;
  /** Relations waiting for a sample (new or changed), oldest first. */
  readonly pending: Set<string>;
  /** `relation.column` -> the finding, while no tag covers it. */
  readonly flagged: Map<string, UntaggedFinding>;
  /** Events raised, by `relation.column.classifier`: once each. */
  readonly raised: Set<string>;
  running?: Promise<void>;
}

const SYSTEM = new Set(['pg_catalog', 'information_schema']);

export class ContinuousDiscovery {
  private readonly products = new Map<string, ProductState>();

  constructor(private readonly options: ContinuousDiscoveryOptions) {}

  /** Called with every snapshot the catalog cache loads; returns at once. */
  catalogLoaded(dataProduct: string, catalog: CatalogSnapshot): void {
    const product = this.options.product(dataProduct);
    if (!product) return;
    const state: ProductState = this.products.get(dataProduct) ?? {
      seen: new Map(),
      pending: new Set(),
      flagged: new Map(),
      raised: new Set(),
    };
    this.products.set(dataProduct, state);
    const present = new Set<string>();
    for (const r of catalog.all()) {
      if (SYSTEM.has(r.schema) || r.schema.startsWith('pg_') || this.options.excludeSchemas.includes(r.schema))
        continue;
      const name = `${r.schema}.${r.name}`;
      present.add(name);
      const fingerprint = r.columns.map((c) => `${c.name}:${c.type}`).join(',');
      if (state.seen.get(name) !== fingerprint) {
        state.pending.add(name);
        state.seen.set(name, fingerprint);
      }
    }
    for (const name of state.seen.keys()) {
      if (!present.has(name)) {
        state.seen.delete(name);
        state.pending.delete(name);
      }
    }
    // A tag added since (policy file or comment) or a dropped relation ends a finding.
    for (const [key, finding] of state.flagged) {
      const [schema, name] = finding.relation.split('.') as [string, string];
      const relation = catalog.relation(schema, name);
      const column = relation?.columns.find((c) => c.name === finding.column);
      if (
        !column ||
        covered(columnTags(product, { dataProduct, schema, name, columns: [] }, column), finding.proposedTags)
      )
        state.flagged.delete(key);
    }
    this.options.onCount(dataProduct, state.flagged.size);
    if (state.pending.size > 0 && !state.running) {
      state.running = this.run(dataProduct, product, state).finally(() => {
        state.running = undefined;
      });
    }
  }

  /** Resolves when every run under way has finished (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.products.values()].map((s) => s.running ?? Promise.resolve()));
  }

  private async run(dataProduct: string, product: DataProductConfig, state: ProductState): Promise<void> {
    const batch = [...state.pending].slice(0, this.options.maxRelations);
    try {
      const report = await discoverProduct(product, {
        classifiers: this.options.classifiers(),
        rows: this.options.rows,
        maxValueChars: this.options.maxValueChars,
        statementTimeoutMs: this.options.statementTimeoutMs,
        budgetMs: this.options.budgetMs,
        minConfidence: this.options.minConfidence,
        excludeSchemas: this.options.excludeSchemas,
        only: new Set(batch),
      });
      const notReached = new Set(report.notReached);
      for (const name of batch) if (!notReached.has(name)) state.pending.delete(name);
      for (const relation of report.relations) {
        const qualified = `${relation.schema}.${relation.name}`;
        // A plain view is protected through what it reads: its base columns are the ones to tag.
        if (relation.kind === 'v') continue;
        for (const column of relation.columns) {
          // Lineage proposals are left to the catalog cache's matview_untagged_source event (plain
          // views are skipped above): the base column raises its own event when it is untagged.
          const open = column.proposals.filter((p) => !('from' in p) && !covered(column.tags, [p.tag]));
          if (open.length === 0) {
            state.flagged.delete(`${qualified}.${column.name}`);
            continue;
          }
          const best = open[0]!;
          const finding: UntaggedFinding = {
            dataProduct,
            relation: qualified,
            column: column.name,
            classifier: best.classifier,
            proposedTags: [...new Set(open.map((p) => p.tag))],
            confidence: best.confidence,
          };
          state.flagged.set(`${qualified}.${column.name}`, finding);
          for (const p of open) {
            const key = `${qualified}.${column.name}.${p.classifier}`;
            if (state.raised.has(key)) continue;
            state.raised.add(key);
            this.options.onFinding({
              ...finding,
              classifier: p.classifier,
              proposedTags: [p.tag],
              confidence: p.confidence,
            });
          }
        }
      }
      this.options.onCount(dataProduct, state.flagged.size);
    } catch (error) {
      // The relations stay pending: the next refresh tries again.
      this.options.onError?.(dataProduct, error as Error);
    }
  }
}

function covered(tags: readonly string[], proposed: readonly string[]): boolean {
  return proposed.every((p) => tags.some((t) => tagMatches(t, p)));
}
