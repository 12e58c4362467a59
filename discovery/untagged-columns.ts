/** Discovered-but-untagged columns of the data products, for the policy tools (lint, access matrix). */
import type { PolicyBundle } from '../policies';
import type { DiscoveryConfig } from '../cli';
import { tagMatches } from '../policies';
import { BUILTIN_CLASSIFIERS } from './builtin-classifiers';
import { customClassifiersOf } from './custom-classifiers';
import { discoverProduct } from './discover-product';

export interface UntaggedColumn {
  /** `dataProduct:schema.relation.column`, as the access matrix names columns. */
  readonly column: string;
  readonly proposedTags: readonly string[];
  readonly confidence: number;
  readonly classifier: string;
}

export interface UntaggedScan {
  readonly columns: readonly UntaggedColumn[];
  /** Relations that could not be sampled or were not reached, with why. */
  readonly unsampled: readonly string[];
}

/** Samples every data product as `pgveil discover` would, and keeps the columns no tag covers. */
export async function untaggedColumns(
  bundle: PolicyBundle,
  policyPaths: readonly string[],
  settings: DiscoveryConfig,
  helperSchema: string,
): Promise<UntaggedScan> {
  const classifiers = [
    ...BUILTIN_CLASSIFIERS,
    ...customClassifiersOf(policyPaths, new Set(BUILTIN_CLASSIFIERS.map((c) => c.id))),
  ];
  const columns: UntaggedColumn[] = [];
  const unsampled: string[] = [];
  for (const product of bundle.dataProducts.values()) {
    const report = await discoverProduct(product, {
      classifiers,
      rows: settings.rows,
      maxValueChars: settings.maxValueChars,
      statementTimeoutMs: settings.statementTimeoutMs,
      budgetMs: settings.budgetSeconds * 1000,
      minConfidence: settings.minConfidence,
      excludeSchemas: [helperSchema],
    });
    for (const r of report.relations) {
      if (r.failure) unsampled.push(`${product.name}:${r.schema}.${r.name} (${r.failure.reason})`);
      // A plain view is protected through what it reads: its base columns are the ones to tag.
      if (r.kind === 'v') continue;
      for (const c of r.columns) {
        const open = c.proposals.filter((p) => !c.tags.some((t) => tagMatches(t, p.tag)));
        if (open.length === 0) continue;
        columns.push({
          column: `${product.name}:${r.schema}.${r.name}.${c.name}`,
          proposedTags: [...new Set(open.map((p) => p.tag))],
          confidence: open[0]!.confidence,
          classifier: open[0]!.classifier,
        });
      }
    }
    for (const name of report.notReached)
      unsampled.push(`${product.name}:${name} (not reached within the time budget)`);
  }
  return { columns, unsampled };
}
