/**
 * Reads a bounded sample of one relation through the service account: `TABLESAMPLE SYSTEM` with a
 * row cap on tables and materialized views large enough for it, `LIMIT` on small ones and on views
 * and foreign tables (which cannot be sampled), each value cut to `maxValueChars` characters. The
 * caller's transaction is read only and has a statement timeout. A failure is reported by SQLSTATE
 * only: an error message from upstream could quote a value.
 */
import type { Client } from 'pg';
import { quoteIdent } from '../rewriter';

export interface SampleLimits {
  /** At most this many rows per relation. */
  readonly rows: number;
  /** Each value is cut to this many characters. */
  readonly maxValueChars: number;
}

export interface SampledRelation {
  /** Per column (in the order asked), its non-null values as text. */
  readonly values: ReadonlyArray<readonly string[]>;
  readonly rows: number;
  readonly method: 'tablesample' | 'limit';
}

export interface SampleFailure {
  readonly sqlstate: string;
  readonly reason: string;
}

const REASONS: Readonly<Record<string, string>> = {
  '42501': 'permission denied to the service account',
  '57014': 'the sample query exceeded the statement timeout',
  '55P03': 'the relation is locked',
  '42P01': 'the relation no longer exists',
  '42703': 'a column no longer exists',
  '25006': 'the relation cannot be read in a read-only transaction',
};

export function sampleFailure(error: unknown): SampleFailure {
  const sqlstate = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'XX000';
  return { sqlstate, reason: REASONS[sqlstate] ?? `the sample query failed (SQLSTATE ${sqlstate})` };
}

export interface RelationToSample {
  readonly schema: string;
  readonly name: string;
  readonly kind: string;
  readonly columns: readonly string[];
  /** pg_class.reltuples: an estimate, -1 when never analyzed. */
  readonly estimatedRows: number;
  /** pg_class.relpages. */
  readonly pages: number;
}

/** Samples inside a savepoint, so a failure leaves the transaction usable for the next relation. */
export async function sampleRelation(
  client: Client,
  relation: RelationToSample,
  limits: SampleLimits,
): Promise<SampledRelation> {
  const target = `${quoteIdent(relation.schema)}.${quoteIdent(relation.name)}`;
  const list = relation.columns
    .map((c) => `pg_catalog.left(${quoteIdent(c)}::pg_catalog.text, ${limits.maxValueChars})`)
    .join(', ');
  const sampleable = (relation.kind === 'r' || relation.kind === 'm') && relation.estimatedRows > limits.rows * 10;
  // SYSTEM picks whole pages: twice the share of rows we need, and at least about 20 pages, so that
  // neither skewed pages nor a small page count leave the sample short.
  const percent = sampleable
    ? Math.min(100, Math.max((200 * limits.rows) / relation.estimatedRows, 2000 / Math.max(1, relation.pages)))
    : 100;
  const run = async (sql: string): Promise<Array<Array<string | null>>> => {
    await client.query('SAVEPOINT pgveil_sample');
    try {
      const result = await client.query<Array<string | null>>({ text: sql, rowMode: 'array' });
      await client.query('RELEASE SAVEPOINT pgveil_sample');
      return result.rows;
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT pgveil_sample');
      throw error;
    }
  };
  let rows: Array<Array<string | null>>;
  let method: SampledRelation['method'] = 'limit';
  if (sampleable) {
    rows = await run(`SELECT ${list} FROM ${target} TABLESAMPLE SYSTEM (${percent.toFixed(6)}) LIMIT ${limits.rows}`);
    method = 'tablesample';
    // Pages are not rows: an unlucky draw (or stale statistics) gets a plain LIMIT instead.
    if (rows.length < Math.min(limits.rows, 50)) {
      rows = await run(`SELECT ${list} FROM ${target} LIMIT ${limits.rows}`);
      method = 'limit';
    }
  } else {
    rows = await run(`SELECT ${list} FROM ${target} LIMIT ${limits.rows}`);
  }
  const values = relation.columns.map((_, i) =>
    rows.map((r) => r[i]).filter((v): v is string => v !== null && v !== undefined && v !== ''),
  );
  return { values, rows: rows.length, method };
}
