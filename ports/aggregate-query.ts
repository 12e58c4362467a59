/**
 * What an external port accepts, read off PostgreSQL's parse tree: one SELECT of COUNT(*),
 * COUNT(col), SUM(measure) and AVG(measure) over one published relation, optionally grouped by
 * declared dimensions, filtered by comparisons of its published columns with constants, ordered by
 * its dimensions. Everything else is refused, naming what the port accepts: an allow-list, so a
 * construct this file does not know (a window, a sub-query, LIMIT, MIN/MAX, GROUP BY a column
 * that is not a dimension) can never reach a row.
 */
import type { SelectStmt } from '@pgsql/types';
import { bodyOf, isKind, stringOf, type PgNode } from '../rewriter';
import type { RefusalRule } from '../rewriter';
import type { OutputPortConfig, PublishedRelation } from './port-model';

type AggregateOutput = { readonly name: string } & (
  | { readonly kind: 'dimension'; readonly column: string }
  | { readonly kind: 'count'; readonly column: string | undefined }
  | { readonly kind: 'sum' | 'avg'; readonly column: string }
);

export interface AggregateQuery {
  readonly schema: string;
  readonly table: string;
  /** The name the statement's column references may qualify with (its alias, else the table). */
  readonly alias: string;
  readonly published: PublishedRelation;
  readonly groupBy: readonly string[];
  readonly outputs: readonly AggregateOutput[];
  readonly where: PgNode | undefined;
  readonly orderBy: ReadonlyArray<{ readonly column: string; readonly descending: boolean }>;
}

export class PortRefusal extends Error {
  constructor(
    readonly sqlstate: string,
    message: string,
    readonly rule: RefusalRule,
  ) {
    super(message);
  }
}

/** The sentence every refusal ends with: what this port does answer. */
export function acceptedForms(port: OutputPortConfig): string {
  const relations = Object.entries(port.relations ?? {})
    .map(([name, r]) => {
      const dims = Object.keys(r.dimensions ?? {});
      const measures = Object.keys(r.measures ?? {});
      return `${name} (group by: ${dims.length ? dims.join(', ') : 'none'}; sum/avg: ${measures.length ? measures.join(', ') : 'none'})`;
    })
    .join('; ');
  return `external port "${port.name}" answers only SELECT of COUNT(*), COUNT(column), SUM(measure), AVG(measure) over one of ${relations}, grouped by dimensions, with WHERE comparisons of its columns with constants; every answer carries differential-privacy noise`;
}

const AGGREGATES = new Set(['count', 'sum', 'avg']);
const COMPARISONS = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);

export function readAggregateQuery(select: SelectStmt, port: OutputPortConfig): AggregateQuery {
  const refuse = (what: string, rule: RefusalRule = 'dp_not_aggregate'): never => {
    throw new PortRefusal('42501', `${what} is refused: ${acceptedForms(port)}`, rule);
  };
  if (select.op && select.op !== 'SETOP_NONE') refuse('a set operation (UNION, INTERSECT, EXCEPT)');
  if (select.withClause) refuse('WITH');
  if (select.valuesLists) refuse('VALUES');
  if (select.distinctClause) refuse('DISTINCT');
  if (select.havingClause) refuse('HAVING');
  if (select.windowClause) refuse('a window');
  if (select.limitCount || select.limitOffset) refuse('LIMIT or OFFSET', 'dp_limit');
  if (select.lockingClause) refuse('FOR UPDATE or SHARE');
  if (select.intoClause) refuse('SELECT INTO');
  if (select.groupDistinct) refuse('GROUP BY DISTINCT');

  const from = select.fromClause ?? [];
  const range = from.length === 1 ? bodyOf(from[0], 'RangeVar') : undefined;
  if (!range)
    refuse(
      from.length === 0
        ? 'a SELECT without FROM'
        : 'a FROM other than one published relation (joins, sub-queries, functions)',
    );
  if (range!.catalogname) refuse('a database-qualified relation');
  if (range!.alias?.colnames) refuse('column aliases in FROM');
  const schema = range!.schemaname ?? 'public';
  const table = range!.relname!;
  const published =
    port.relations?.[`${schema}.${table}`] ?? (schema === 'public' ? port.relations?.[table] : undefined);
  if (!published)
    refuse(`relation "${schema}.${table}", which the port does not publish,`, 'dp_relation_not_published');
  const alias = range!.alias?.aliasname ?? table;
  const dimensions = new Set(Object.keys(published!.dimensions ?? {}));
  const measures = new Set(Object.keys(published!.measures ?? {}));
  const columns = new Set([published!.privacyUnit, ...dimensions, ...measures]);

  const column = (node: PgNode | undefined, allowed: ReadonlySet<string>, role: string, why = ''): string => {
    const fields = bodyOf(node, 'ColumnRef')?.fields;
    if (!fields || fields.some((f) => !isKind(f, 'String')))
      return refuse(`${role} an expression other than a column name`);
    const names = fields.map((f) => stringOf(f)!);
    if (names.length === 2 && names[0] !== alias) refuse(`column reference "${names.join('.')}"`);
    if (names.length > 2) refuse(`column reference "${names.join('.')}" (qualify with the table or its alias only)`);
    const name = names[names.length - 1]!;
    if (!allowed.has(name))
      refuse(
        `${role} "${name}"${why ? ` (${why})` : ''}`,
        role.startsWith('GROUP BY') ? 'dp_not_dimension' : 'dp_column_not_published',
      );
    return name;
  };

  const groupBy = (select.groupClause ?? []).map((g) =>
    column(g, dimensions, 'GROUP BY', 'not a declared dimension: its groups could single out rows'),
  );
  if (new Set(groupBy).size !== groupBy.length) refuse('a column grouped twice');

  const outputs: AggregateOutput[] = (select.targetList ?? []).map((target) => {
    const res = bodyOf(target, 'ResTarget')!;
    const val = res.val!;
    if (isKind(val, 'ColumnRef')) {
      const name = column(val, new Set(groupBy), 'selecting', 'not a grouped dimension: a row-level value');
      return { kind: 'dimension' as const, column: name, name: res.name ?? name };
    }
    const call = bodyOf(val, 'FuncCall');
    if (!call) return refuse('a selected expression other than a dimension or COUNT, SUM, AVG of a column');
    const fname = call.funcname!.map((n) => stringOf(n)!);
    const name = fname.length === 2 && fname[0] === 'pg_catalog' ? fname[1]! : fname.length === 1 ? fname[0]! : '';
    if (!AGGREGATES.has(name))
      refuse(
        `function "${fname.join('.')}"${name === 'min' || name === 'max' ? " (it returns one row's value)" : ''}`,
        name === 'min' || name === 'max' ? 'dp_min_max' : 'dp_not_aggregate',
      );
    if (call.over) refuse('a window function', 'dp_window');
    if (call.agg_distinct) refuse(`${name.toUpperCase()}(DISTINCT ...)`);
    if (call.agg_filter) refuse('an aggregate FILTER');
    if (call.agg_order || call.agg_within_group) refuse('an ordered aggregate');
    if (call.func_variadic) refuse('VARIADIC');
    const args = call.args ?? [];
    const outName = res.name ?? name;
    if (name === 'count' && call.agg_star) return { kind: 'count' as const, column: undefined, name: outName };
    if (args.length !== 1) refuse(`${name.toUpperCase()} with ${args.length} arguments`);
    if (name === 'count')
      return { kind: 'count' as const, column: column(args[0], columns, 'COUNT of', 'not published'), name: outName };
    return {
      kind: name as 'sum' | 'avg',
      column: column(args[0], measures, `${name.toUpperCase()} of`, 'not a declared measure with bounds'),
      name: outName,
    };
  });
  if (outputs.length === 0) refuse('a SELECT without columns');
  if (!outputs.some((o) => o.kind !== 'dimension')) refuse('a SELECT without an aggregate (it would list the groups)');

  const orderBy = (select.sortClause ?? []).map((s) => {
    const sort = bodyOf(s, 'SortBy')!;
    if (sort.useOp || (sort.sortby_nulls && sort.sortby_nulls !== 'SORTBY_NULLS_DEFAULT'))
      refuse('ORDER BY ... USING or NULLS FIRST/LAST');
    return {
      column: column(sort.node, new Set(groupBy), 'ORDER BY', 'only grouped dimensions sort an answer'),
      descending: sort.sortby_dir === 'SORTBY_DESC',
    };
  });

  const where = select.whereClause;
  if (where) checkPredicate(where, (node) => column(node, columns, 'WHERE on', 'not published'), refuse);
  return { schema, table, alias, published: published!, groupBy, outputs, where, orderBy };
}

/**
 * A WHERE is a boolean combination of comparisons of published columns with constants (or with
 * each other). Such a predicate raises no error whatever a row holds, so no row can signal through
 * an error; anything else (a function, a division, a sub-query) is refused.
 */
function checkPredicate(
  node: PgNode,
  column: (node: PgNode) => string,
  refuse: (what: string, rule?: RefusalRule) => never,
): void {
  const operand = (n: PgNode | undefined): void => {
    if (isKind(n, 'ColumnRef')) column(n);
    else if (!isConstant(n)) refuse('a WHERE operand other than a column or a constant', 'dp_where');
  };
  const bool = bodyOf(node, 'BoolExpr');
  if (bool) {
    for (const arg of bool.args!) checkPredicate(arg, column, refuse);
    return;
  }
  const nullTest = bodyOf(node, 'NullTest');
  if (nullTest) {
    if (!isKind(nullTest.arg, 'ColumnRef')) refuse('IS NULL of anything but a column', 'dp_where');
    column(nullTest.arg);
    return;
  }
  const expr = bodyOf(node, 'A_Expr');
  if (!expr) return refuse('a WHERE condition other than comparisons, IN, BETWEEN, IS NULL, AND, OR, NOT', 'dp_where');
  const names = (expr.name ?? []).map((n) => stringOf(n)!);
  const opName = names.length === 1 ? names[0]! : '';
  switch (expr.kind) {
    case 'AEXPR_OP':
      if (!COMPARISONS.has(opName) || !expr.lexpr) refuse(`the operator "${names.join('.')}" in WHERE`, 'dp_where');
      operand(expr.lexpr);
      operand(expr.rexpr);
      return;
    case 'AEXPR_IN':
      if (opName !== '=' && opName !== '<>') refuse('this IN', 'dp_where');
      operand(expr.lexpr);
      for (const item of bodyOf(expr.rexpr, 'List')?.items ??
        refuse('IN over anything but a list of constants', 'dp_where')) {
        if (!isConstant(item)) refuse('IN over anything but a list of constants', 'dp_where');
      }
      return;
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN':
      operand(expr.lexpr);
      for (const item of bodyOf(expr.rexpr, 'List')?.items ?? []) operand(item);
      return;
    default:
      refuse(`${String(expr.kind).replace('AEXPR_', '')} in WHERE`, 'dp_where');
  }
}

/** A literal, or a literal cast to a named type: its value does not depend on any row. */
function isConstant(node: PgNode | undefined): boolean {
  if (isKind(node, 'A_Const')) return true;
  const cast = bodyOf(node, 'TypeCast');
  return cast !== undefined && isKind(cast.arg, 'A_Const') && !cast.typeName?.arrayBounds;
}
