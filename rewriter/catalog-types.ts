/**
 * The upstream catalog as the rewriter sees it: an immutable snapshot, loaded and refreshed by
 * catalog-loader.ts. Names are stored exactly as PostgreSQL stores them (already case-folded).
 */
export type RelationKind = 'r' | 'p' | 'v' | 'm' | 'f' | 'S' | 'c' | 't' | 'i' | 'I';

export interface CatalogColumn {
  readonly name: string;
  /** format_type(atttypid, atttypmod) */
  readonly type: string;
  readonly typeOid: number;
  readonly comment?: string;
}

export interface CatalogRelation {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  readonly kind: RelationKind;
  /** Ordered as attnum, dropped columns excluded. */
  readonly columns: readonly CatalogColumn[];
  /** Inheritance / partition parents (oids). */
  readonly parents: readonly number[];
  /** For views and materialized views: the relations their definition reads (oids). */
  readonly dependsOn: readonly number[];
}

export interface CatalogSnapshot {
  /** Increases on every refresh; part of the rewrite cache key. */
  readonly version: number;
  relation(schema: string, name: string): CatalogRelation | undefined;
  relationByOid(oid: number): CatalogRelation | undefined;
  hasSchema(schema: string): boolean;
  /** Every relation, for tools that list what a data product holds (access matrix, lint). */
  all(): readonly CatalogRelation[];
}
