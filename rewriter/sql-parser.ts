/** PostgreSQL's own grammar (libpg-query, WASM) and its inverse (pgsql-deparser). */
import { loadModule, parseSync } from 'libpg-query';
import type { Node } from './ast';
import { deparseWithSqlJson } from './sql-json-printer';
import { loadReadBackParser } from './read-back-parser';

let loaded: Promise<void> | undefined;

/** Loads the parser once per process; rewrite() needs it to have resolved. */
export function initRewriter(): Promise<void> {
  loaded ??= Promise.all([loadModule(), loadReadBackParser()]).then(() => undefined);
  return loaded;
}

export interface ParsedStatement {
  readonly stmt: Node;
  /** Where the statement's own text starts in the parsed text, and how long it is, in UTF-8 bytes (0 = to the end). */
  readonly location: number;
  readonly length: number;
}

export function parseStatements(sql: string): ParsedStatement[] {
  const tree = parseSync(sql) as { stmts?: Array<{ stmt?: Node; stmt_location?: number; stmt_len?: number }> };
  return (tree.stmts ?? [])
    .filter((s): s is { stmt: Node; stmt_location?: number; stmt_len?: number } => s.stmt !== undefined)
    .map((s) => ({ stmt: s.stmt, location: s.stmt_location ?? 0, length: s.stmt_len ?? 0 }));
}

/** One statement's own text out of a text that may hold several. */
export function statementText(sql: string, parsed: ParsedStatement): string {
  const bytes = Buffer.from(sql, 'utf8');
  const end = parsed.length === 0 ? bytes.length : parsed.location + parsed.length;
  return bytes.subarray(parsed.location, end).toString('utf8').trim();
}

export function deparseStatement(stmt: Node): string {
  return deparseWithSqlJson(stmt);
}

/** The expression of `SELECT 1 WHERE <expression>`, used for trusted templates (types, row filters). */
export function parseExpression(sql: string): Node {
  const select = parseStatements(`SELECT 1 WHERE ${sql}`)[0]?.stmt.SelectStmt as Node | undefined;
  if (!select?.whereClause) throw new Error(`invalid expression template "${sql}"`);
  return select.whereClause as Node;
}

const typeNames = new Map<string, Node>();

/** TypeName node for a type as format_type() prints it, e.g. `character varying(64)`. */
export function parseTypeName(type: string): Node {
  let cached = typeNames.get(type);
  if (!cached) {
    const select = parseStatements(`SELECT NULL::${type}`)[0]?.stmt.SelectStmt as Node | undefined;
    cached = select?.targetList?.[0]?.ResTarget?.val?.TypeCast?.typeName as Node | undefined;
    if (!cached) throw new Error(`invalid type "${type}"`);
    typeNames.set(type, cached);
  }
  return structuredClone(cached);
}
