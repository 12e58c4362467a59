/**
 * `SELECT set_config('name', 'value', is_local)` on its own is the function form of `SET`: clients
 * that must not depend on the session's settings use it (pg_dump's first statement is
 * `SELECT pg_catalog.set_config('search_path', '', false)`). It is recognised only in exactly that
 * shape: one target, three constants, nothing else in the query. Then it is a `SET` in disguise and
 * gets the same checks and session effects as `SET`; it is forwarded as a SELECT because the client
 * waits for its one-row answer. Any other use of set_config (a column or a parameter as argument,
 * a FROM clause that runs it once per row, inside an expression) stays refused by the function
 * guard: pgveil could not know which setting ends up changed, or how often.
 */
import type { SelectStmt } from '@pgsql/types';
import { bodyOf, names, stringOf, type PgNode } from './ast';
import { parseTree } from './sql-parser';

export interface SetConfigCall {
  /** The setting's name, lower-cased as PostgreSQL compares them. */
  readonly name: string;
  readonly value: string;
  readonly local: boolean;
  /**
   * pg_dump's form for a setting the server may not have: `SELECT set_config(name, 'value', false)
   * FROM pg_settings WHERE name = 'setting'`, which sets it once if it exists and returns no row
   * otherwise.
   */
  readonly ifExists: boolean;
}

/**
 * The call when `select` is nothing but `SELECT [pg_catalog.]set_config('name', 'value', bool)`, or
 * pg_dump's `SELECT set_config(name, 'value', bool) FROM pg_settings WHERE name = 'name'`.
 */
export function setConfigCall(select: SelectStmt): SetConfigCall | undefined {
  const ifExists = select.fromClause !== undefined;
  const shape = ifExists ? SELECT_IF_EXISTS_SHAPE : SELECT_SHAPE;
  const onlyKeys = Object.keys(select).every((key) => shape.has(key));
  if (!onlyKeys || select.op !== 'SETOP_NONE' || select.limitOption !== 'LIMIT_OPTION_DEFAULT') return undefined;
  const targets = select.targetList;
  if (targets?.length !== 1) return undefined;
  const target = bodyOf(targets[0], 'ResTarget');
  if (!target || target.name !== undefined || target.indirection !== undefined) return undefined;
  const call = bodyOf(target.val, 'FuncCall');
  if (!call || !Object.keys(call).every((key) => CALL_SHAPE.has(key)) || call.funcformat !== 'COERCE_EXPLICIT_CALL')
    return undefined;
  if (!isCatalogName(call.funcname, 'set_config')) return undefined;
  const args = call.args;
  if (args?.length !== 3) return undefined;
  const name = ifExists ? settingsRowName(select, args[0]) : stringConstant(args[0]);
  const value = stringConstant(args[1]);
  const local = booleanConstant(args[2]);
  if (name === undefined || value === undefined || local === undefined) return undefined;
  return { name: name.toLowerCase(), value, local, ifExists };
}

/** For `... FROM pg_settings WHERE name = 'setting'` with `name` as first argument: 'setting'. */
function settingsRowName(select: SelectStmt, firstArgument: PgNode | undefined): string | undefined {
  const from = select.fromClause;
  const relation = from?.length === 1 ? bodyOf(from[0], 'RangeVar') : undefined;
  if (
    !relation ||
    !Object.keys(relation).every((key) => RANGE_VAR_SHAPE.has(key)) ||
    relation.inh !== true ||
    relation.relpersistence !== 'p'
  )
    return undefined;
  if (relation.relname !== 'pg_settings' || (relation.schemaname !== undefined && relation.schemaname !== 'pg_catalog'))
    return undefined;
  const where = bodyOf(select.whereClause, 'A_Expr');
  if (!where || where.kind !== 'AEXPR_OP' || !isCatalogName(where.name, '=')) return undefined;
  if (!isNameColumn(where.lexpr) || !isNameColumn(firstArgument)) return undefined;
  return stringConstant(where.rexpr);
}

function isNameColumn(node: PgNode | undefined): boolean {
  const fields = bodyOf(node, 'ColumnRef')?.fields;
  return fields?.length === 1 && stringOf(fields[0]) === 'name';
}

/** `name` or `pg_catalog.name`, as a function or operator name list (whose parts are all `String`s). */
function isCatalogName(parts: PgNode[] | undefined, name: string): boolean {
  const words = names(parts);
  return words.length === 1 ? words[0] === name : words.length === 2 && words[0] === 'pg_catalog' && words[1] === name;
}

/**
 * The text sent upstream: schema-qualified, values as escape strings (the same whatever
 * standard_conforming_strings is), checked to read back as the very same call.
 */
export function setConfigText(call: SetConfigCall): string {
  const local = call.local ? 'true' : 'false';
  const text = call.ifExists
    ? `SELECT pg_catalog.set_config(name, ${escapeString(call.value)}, ${local}) FROM pg_catalog.pg_settings WHERE name OPERATOR(pg_catalog.=) ${escapeString(call.name)}`
    : `SELECT pg_catalog.set_config(${escapeString(call.name)}, ${escapeString(call.value)}, ${local})`;
  const again = parseTree(text);
  const select = again.length === 1 ? bodyOf(again[0]!.stmt, 'SelectStmt') : undefined;
  const read = select ? setConfigCall(select) : undefined;
  if (
    !read ||
    read.name !== call.name ||
    read.value !== call.value ||
    read.local !== call.local ||
    read.ifExists !== call.ifExists
  ) {
    throw new Error('the rewritten set_config call does not read back as the same call');
  }
  return text;
}

/**
 * The values `SET name TO ...` would have: a list setting's text split as PostgreSQL splits it
 * (comma-separated identifiers, double quotes keep case and commas), any other setting's text whole.
 */
export function settingValues(call: SetConfigCall): string[] {
  if (!LIST_SETTINGS.has(call.name)) return [call.value];
  const out: string[] = [];
  const item = /\s*(?:"((?:[^"]|"")*)"|([^,\s"]+))\s*(,|$)/y;
  while (item.lastIndex < call.value.length) {
    const at = item.lastIndex;
    const m = item.exec(call.value);
    if (!m) throw new SetConfigValueError(call.value.slice(at));
    out.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!.toLowerCase());
    if (m[3] === '') break;
  }
  return out;
}

/** A list value PostgreSQL would refuse too (an unterminated quote, an empty element). */
export class SetConfigValueError extends Error {
  override readonly name = 'SetConfigValueError';
}

const LIST_SETTINGS = new Set(['search_path']);
const SELECT_SHAPE = new Set(['targetList', 'limitOption', 'op']);
const SELECT_IF_EXISTS_SHAPE = new Set(['targetList', 'fromClause', 'whereClause', 'limitOption', 'op']);
const RANGE_VAR_SHAPE = new Set(['schemaname', 'relname', 'inh', 'relpersistence', 'location']);
const CALL_SHAPE = new Set(['funcname', 'args', 'funcformat', 'location']);

function stringConstant(node: PgNode | undefined): string | undefined {
  const constant = bodyOf(node, 'A_Const');
  if (constant?.sval === undefined) return undefined;
  const text: unknown = constant.sval.sval;
  return typeof text === 'string' ? text : '';
}

function booleanConstant(node: PgNode | undefined): boolean | undefined {
  const constant = bodyOf(node, 'A_Const');
  if (constant?.boolval === undefined) return undefined;
  return constant.boolval.boolval === true;
}

function escapeString(text: string): string {
  return `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
