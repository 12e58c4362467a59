/**
 * One discovery run over one data product: read its relations and columns, sample each relation in
 * a read-only transaction with a statement timeout, score every column, then carry tags down view
 * lineage. Bounded: a row cap per relation (lowered for wide relations, and values cut shorter for
 * very wide ones, so one relation's sample stays under a fixed number of characters), a time budget
 * for the product (relations not reached are listed), and each relation's values are dropped before
 * the next is read.
 */
import type { DataProductConfig } from '../policies';
import { columnTags } from '../policies';
import { serviceAccountClient, upstreamTargetOf } from '../cli';
import type { Classifier } from './classifier';
import { scoreColumn } from './score-column';
import { sampleFailure, sampleRelation } from './sample-relation';
import { sampleSize } from './sample-size';
import { viewLineage } from './view-lineage';
import { propagateLineage } from './propagate-lineage';
import type { ColumnFinding, DiscoveryReport, RelationFinding } from './discovery-report';

export interface DiscoveryOptions {
  readonly classifiers: readonly Classifier[];
  /** Rows sampled per relation at most (default 1000). */
  readonly rows?: number;
  /** Characters kept of each value (default 256). */
  readonly maxValueChars?: number;
  /** Characters sampled per relation at most, all columns together (default 4,000,000). */
  readonly maxCharsPerRelation?: number;
  /** Statement timeout of every sample query (default 5000 ms). */
  readonly statementTimeoutMs?: number;
  /** Time budget for the whole data product (default 120 s). */
  readonly budgetMs?: number;
  readonly minConfidence?: number;
  /** Schemas never read (pgveil's helper schema). */
  readonly excludeSchemas?: readonly string[];
  /** Only these relations (`schema.name`), e.g. the new or changed ones of a catalog refresh. */
  readonly only?: ReadonlySet<string>;
  readonly onProgress?: (done: number, total: number, relation: string) => void;
}

interface RelationRow {
  oid: string;
  schema: string;
  name: string;
  kind: string;
  reltuples: number;
  relpages: number;
  definition: string | null;
}

const RELATIONS_SQL = `
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.reltuples::float8 AS reltuples, c.relpages::int4 AS relpages,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END AS definition
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
  AND NOT (n.nspname = ANY ($1::text[]))
ORDER BY n.nspname, c.relname`;

const COLUMNS_SQL = `
SELECT a.attrelid::int8 AS relid, a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       pg_catalog.col_description(a.attrelid, a.attnum) AS comment
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = ANY ($1::pg_catalog.oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`;

export async function discoverProduct(product: DataProductConfig, options: DiscoveryOptions): Promise<DiscoveryReport> {
  const started = Date.now();
  const deadline = started + (options.budgetMs ?? 120_000);
  const target = upstreamTargetOf(product);
  const client = serviceAccountClient(target, 'pgveil discovery');
  await client.connect();
  // A connection-level error (the server going away) must not crash the process: it fails the run.
  client.on('error', () => undefined);
  try {
    const timeout = options.statementTimeoutMs ?? 5000;
    await client.query('BEGIN TRANSACTION READ ONLY ISOLATION LEVEL REPEATABLE READ');
    await client.query(`SET LOCAL statement_timeout = ${Math.floor(timeout)}`);
    await client.query(`SET LOCAL lock_timeout = ${Math.floor(timeout)}`);
    // Every name in a printed view definition comes out schema-qualified.
    await client.query('SET LOCAL search_path = pg_catalog');
    const relations = (await client.query<RelationRow>(RELATIONS_SQL, [[...(options.excludeSchemas ?? [])]])).rows;
    const columns = await client.query<{ relid: string; name: string; type: string; comment: string | null }>(
      COLUMNS_SQL,
      [relations.map((r) => r.oid)],
    );
    const columnsOf = new Map<string, Array<{ name: string; type: string; comment?: string }>>();
    for (const c of columns.rows) {
      const list = columnsOf.get(c.relid) ?? [];
      list.push({ name: c.name, type: c.type, ...(c.comment ? { comment: c.comment } : {}) });
      columnsOf.set(c.relid, list);
    }
    // With `only`, the other relations are listed unsampled: their tags still flow down lineage.
    const isWanted = (r: { schema: string; name: string }): boolean =>
      !options.only || options.only.has(`${r.schema}.${r.name}`);
    const wanted = relations.filter(isWanted);
    const findings: RelationFinding[] = [];
    const notReached: string[] = [];
    const rowsCap = options.rows ?? 1000;
    const maxValueChars = options.maxValueChars ?? 256;
    const maxChars = options.maxCharsPerRelation ?? 4_000_000;
    let done = 0;
    for (const r of relations) {
      const qualified = `${r.schema}.${r.name}`;
      const cols = columnsOf.get(r.oid) ?? [];
      const tagsOf = (c: { name: string; type: string; comment?: string }): string[] =>
        columnTags(product, { dataProduct: product.name, schema: r.schema, name: r.name, columns: [] }, c);
      if (!isWanted(r)) {
        findings.push({
          schema: r.schema,
          name: r.name,
          kind: r.kind,
          columns: cols.map((c) => ({ name: c.name, type: c.type, tags: tagsOf(c), proposals: [] })),
        });
        continue;
      }
      options.onProgress?.(done++, wanted.length, qualified);
      if (Date.now() > deadline) {
        notReached.push(qualified);
        continue;
      }
      const size = sampleSize(cols.length, { rows: rowsCap, maxValueChars, maxChars });
      let sample:
        { values: ReadonlyArray<readonly string[]>; rows: number; method: 'tablesample' | 'limit' } | undefined;
      let failure: RelationFinding['failure'];
      try {
        if (cols.length > 0)
          sample = await sampleRelation(
            client,
            {
              schema: r.schema,
              name: r.name,
              kind: r.kind,
              columns: cols.map((c) => c.name),
              estimatedRows: r.reltuples,
              pages: r.relpages,
            },
            size,
          );
      } catch (error) {
        failure = sampleFailure(error);
      }
      const columnFindings: ColumnFinding[] = cols.map((c, i) => ({
        name: c.name,
        type: c.type,
        tags: tagsOf(c),
        ...(c.comment ? { comment: c.comment } : {}),
        // An unsampled relation is judged by its column names alone (confidence stays low).
        proposals: scoreColumn(
          { name: c.name, type: c.type, values: sample?.values[i] ?? [] },
          options.classifiers,
          options.minConfidence,
        ),
      }));
      findings.push({
        schema: r.schema,
        name: r.name,
        kind: r.kind,
        ...(sample ? { sample: { rows: sample.rows, method: sample.method } } : {}),
        ...(failure ? { failure } : {}),
        columns: columnFindings,
      });
    }
    options.onProgress?.(wanted.length, wanted.length, '');
    const definitions = new Map(
      relations.filter((r) => r.definition).map((r) => [`${r.schema}.${r.name}`, r.definition!]),
    );
    const columnNames = (schema: string, name: string): string[] | undefined => {
      const r = relations.find((x) => x.schema === schema && x.name === name);
      return r ? (columnsOf.get(r.oid) ?? []).map((c) => c.name) : undefined;
    };
    const lineage = new Map([...definitions].map(([name, definition]) => [name, safeLineage(definition, columnNames)]));
    const withLineage = propagateLineage(findings, lineage, options.minConfidence ?? 0.6);
    const kept = withLineage.filter((r) => isWanted(r) && !notReached.includes(`${r.schema}.${r.name}`));
    return { dataProduct: product.name, relations: kept, notReached, durationMs: Date.now() - started };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** A definition the parser cannot read gives no lineage rather than failing the run. */
function safeLineage(
  definition: string,
  columnNames: (schema: string, name: string) => string[] | undefined,
): ReturnType<typeof viewLineage> {
  try {
    return viewLineage(definition, columnNames);
  } catch {
    return [];
  }
}
