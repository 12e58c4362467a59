/**
 * catalog/: the data product catalog in a browser (docs/catalog.md). `createCatalog` is what a pgveil
 * process wires: the activity tee (statements and events), the background scan for untagged
 * columns, and the HTTP handler the admin server mounts under /catalog.
 */
import type { PolicyBundle } from '../policies';
import type { RelationRef } from '../policies';
import { columnTags } from '../policies';
import type { CatalogSnapshot } from '../rewriter';
import { SYSTEM_SCHEMAS } from '../rewriter';
import type { UntaggedScan } from '../discovery';
import { CatalogActivity, type MaskedTagsOf } from './activity';
import { UntaggedScanner } from './untagged-scan';
import { referencedColumns } from './referenced-columns';
import { backfillEvents, backfillStatements } from './history';
import { createCatalogHandler, type CatalogHandler, type CatalogHandlerOptions } from './catalog-handler';
import type { CatalogSources } from './catalog-model';

export { CatalogActivity } from './activity';
export { createCatalogHandler, type CatalogHandler } from './catalog-handler';
export type { CatalogSources } from './catalog-model';

export interface CatalogOptions {
  readonly bundle: () => PolicyBundle;
  readonly policyPaths: readonly string[];
  /** The data product's upstream catalog (the process's CatalogCache). */
  readonly catalog: (dataProduct: string) => CatalogSnapshot | Promise<CatalogSnapshot>;
  readonly helperSchema: string;
  /** Sampling for discovered-but-untagged columns (discovery/untagged-columns.ts with the configuration). */
  readonly scanUntagged: (bundle: PolicyBundle) => Promise<UntaggedScan>;
  readonly listener: CatalogSources['listener'];
  /** Read once at start for the last 24 hours: the audit log, and a file event sink if there is one. */
  readonly history?: { readonly auditFile: string; readonly eventsFile?: string };
}

export interface Catalog {
  readonly activity: CatalogActivity;
  readonly scanner: UntaggedScanner;
  readonly sources: CatalogSources;
  handler(options: Omit<CatalogHandlerOptions, 'sources'>): CatalogHandler;
}

export function createCatalog(options: CatalogOptions): Catalog {
  const activity = new CatalogActivity(maskedTags(options));
  if (options.history) {
    backfillStatements(activity, options.history.auditFile);
    if (options.history.eventsFile) backfillEvents(activity, options.history.eventsFile);
  }
  const scanner = new UntaggedScanner(options.scanUntagged, options.bundle);
  const sources: CatalogSources = {
    bundle: options.bundle,
    policyPaths: options.policyPaths,
    relations: async (dataProduct) =>
      userRelations(dataProduct, await options.catalog(dataProduct), options.helperSchema),
    activity,
    untagged: () => scanner.current(),
    listener: options.listener,
  };
  return { activity, scanner, sources, handler: (h) => createCatalogHandler({ ...h, sources }) };
}

/**
 * The relations analysts can name, as `pgveil access-matrix` lists them: everything outside the
 * system schemas, pgveil's helper schema and pg_toast, in the same order.
 */
export function userRelations(dataProduct: string, catalog: CatalogSnapshot, helperSchema: string): RelationRef[] {
  const out: RelationRef[] = [];
  for (const r of catalog.all()) {
    if (SYSTEM_SCHEMAS.has(r.schema) || r.schema === helperSchema || r.schema === 'pg_toast') continue;
    out.push({
      dataProduct,
      schema: r.schema,
      name: r.name,
      columns: r.columns.map((c) => ({ name: c.name, type: c.type, ...(c.comment ? { comment: c.comment } : {}) })),
    });
  }
  return out.sort((a, b) =>
    `${a.dataProduct}.${a.schema}.${a.name}`.localeCompare(`${b.dataProduct}.${b.schema}.${b.name}`),
  );
}

/**
 * The tags of the columns a statement read other than raw: the columns of its substituted relations
 * that a reason masks and that the statement names (referenced-columns.ts), with their tags as the
 * policies see them. Only from a catalog already loaded
 * (never waits); asked once per distinct decision (activity.ts caches by the reasons array).
 */
function maskedTags(options: CatalogOptions): MaskedTagsOf {
  return (record) => {
    if (record.outcome.kind !== 'plan') return [];
    const snapshot = options.catalog(record.session.dataProduct);
    if (snapshot instanceof Promise) {
      snapshot.catch(() => undefined);
      return [];
    }
    const product = options.bundle().dataProducts.get(record.session.dataProduct);
    const masked = new Set(
      record.outcome.reasons.filter((r) => r.column !== undefined && r.effect !== 'allow').map((r) => r.column!),
    );
    const relations = record.outcome.relations.flatMap((qualified) => {
      const dot = qualified.indexOf('.');
      const relation = snapshot.relation(qualified.slice(0, dot), qualified.slice(dot + 1));
      return relation ? [relation] : [];
    });
    const named = referencedColumns(record.sql, new Set(relations.flatMap((r) => r.columns.map((c) => c.name))));
    const tags = new Set<string>();
    for (const relation of relations) {
      const ref = {
        dataProduct: record.session.dataProduct,
        schema: relation.schema,
        name: relation.name,
        columns: [],
      };
      for (const column of relation.columns) {
        if (!masked.has(column.name) || (named !== 'all' && !named.has(column.name))) continue;
        for (const t of columnTags(product, ref, column)) tags.add(t);
      }
    }
    return [...tags];
  };
}
