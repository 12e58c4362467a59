/** What a discovery run found, per data product: counts, tags and confidences, never a value. */
import type { Proposal } from './score-column';

export interface LineageProposal {
  readonly classifier: 'lineage';
  readonly tag: string;
  readonly confidence: number;
  /** `schema.relation.column` the view column is computed from. */
  readonly from: readonly string[];
}

export type ColumnProposal = Proposal | LineageProposal;

export interface ColumnFinding {
  readonly name: string;
  readonly type: string;
  /** Tags the column carries now (policy files and column comments). */
  readonly tags: readonly string[];
  /** The column's comment (schema metadata, for `--sql` to keep what it says besides tags). */
  readonly comment?: string;
  readonly proposals: readonly ColumnProposal[];
}

export interface RelationFinding {
  readonly schema: string;
  readonly name: string;
  /** pg_class.relkind: r table, p partitioned, v view, m materialized view, f foreign table. */
  readonly kind: string;
  readonly sample?: { readonly rows: number; readonly method: 'tablesample' | 'limit' };
  /** Why the relation could not be sampled (its columns are still listed, judged by name only). */
  readonly failure?: { readonly sqlstate: string; readonly reason: string };
  readonly columns: readonly ColumnFinding[];
}

export interface DiscoveryReport {
  readonly dataProduct: string;
  readonly relations: readonly RelationFinding[];
  /** Relations left unread because the time budget ran out. */
  readonly notReached: readonly string[];
  readonly durationMs: number;
}

/** Proposed tags no existing tag covers: what `--write` would add. */
export function newTags(column: ColumnFinding): ColumnProposal[] {
  return column.proposals.filter((p) => !column.tags.some((t) => t === p.tag || p.tag.startsWith(`${t}.`)));
}
