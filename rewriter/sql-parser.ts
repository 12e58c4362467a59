/** PostgreSQL's own grammar (libpg-query, WASM) and its inverse (pgsql-deparser). */
import { loadModule, parseSync } from 'libpg-query';
import type { ParseResult, TypeName } from '@pgsql/types';
import { bodyOf, type PgNode } from './ast';
import { deparseWithSqlJson } from './sql-json-printer';
import { loadReadBackParser } from './read-back-parser';

let loaded: Promise<void> | undefined;

/** Loads the parser once per process; rewrite() needs it to have resolved. */
export function initRewriter(): Promise<void> {
  loaded ??= Promise.all([loadModule(), loadReadBackParser()]).then(() => undefined);
  return loaded;
}

/** Where a statement's own text is in the parsed text, in UTF-8 bytes. */
interface StatementSpan {
  /** Where the statement's own text starts in the parsed text, and how long it is, in UTF-8 bytes (0 = to the end). */
  readonly location: number;
  readonly length: number;
}

/** One statement of a parsed text. */
export interface Statement extends StatementSpan {
  readonly stmt: PgNode;
}

/** Every statement of `sql`, typed. */
export function parseTree(sql: string): Statement[] {
  return statementsOf(parseSync(sql));
}

/** The statements of a parse result, with where each stands in the text. */
export function statementsOf(result: ParseResult): Statement[] {
  const statements: Statement[] = [];
  for (const raw of result.stmts ?? []) {
    if (raw.stmt !== undefined)
      statements.push({ stmt: raw.stmt, location: raw.stmt_location ?? 0, length: raw.stmt_len ?? 0 });
  }
  return statements;
}

/** One statement's own text out of a text that may hold several. */
export function statementText(sql: string, parsed: StatementSpan): string {
  const bytes = Buffer.from(sql, 'utf8');
  const end = parsed.length === 0 ? bytes.length : parsed.location + parsed.length;
  return bytes.subarray(parsed.location, end).toString('utf8').trim();
}

export function deparseStatement(stmt: PgNode): string {
  return deparseWithSqlJson(stmt);
}

/** The SELECT of a text that is one, as the parser reads it: the first statement's fields, else undefined. */
const firstSelect = (sql: string) => bodyOf(parseTree(sql)[0]?.stmt, 'SelectStmt');

/** The expression of `SELECT 1 WHERE <expression>`, used for trusted templates (types, row filters). */
export function parseExpression(sql: string): PgNode {
  const where = firstSelect(`SELECT 1 WHERE ${sql}`)?.whereClause;
  if (!where) throw new Error(`invalid expression template "${sql}"`);
  return where;
}

const typeNames = new Map<string, TypeName>();

/** TypeName node for a type as format_type() prints it, e.g. `character varying(64)`. */
export function parseTypeName(type: string): TypeName {
  let cached = typeNames.get(type);
  if (!cached) {
    const target = bodyOf(firstSelect(`SELECT NULL::${type}`)?.targetList?.[0], 'ResTarget');
    cached = bodyOf(target?.val, 'TypeCast')?.typeName;
    if (!cached) throw new Error(`invalid type "${type}"`);
    typeNames.set(type, cached);
  }
  return structuredClone(cached);
}
