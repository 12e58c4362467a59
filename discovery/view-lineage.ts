/**
 * Which columns a view's columns are computed from, read from its definition as PostgreSQL prints
 * it (pg_get_viewdef, every name qualified): each output column's expression is walked for column
 * references (scalar subqueries included), and each reference resolved against the FROM clause —
 * tables, subqueries, joins, CTEs. Output columns are matched to the catalog's columns by position.
 * What cannot be resolved is left out rather than guessed.
 */
import type { SelectStmt } from '@pgsql/types';
import { bodyOf, isKind, isTreeObject, parseTree, stringOf, type PgNode } from '../rewriter';

export interface ColumnSource {
  readonly schema: string;
  readonly relation: string;
  readonly column: string;
}

/** The columns of a relation that a FROM item can name, given what the caller knows of the catalog. */
export type RelationColumns = (schema: string, name: string) => readonly string[] | undefined;

interface ScopeItem {
  readonly alias: string;
  readonly columns: ReadonlyMap<string, readonly ColumnSource[]>;
}

type Ctes = ReadonlyMap<string, ReadonlyArray<{ name: string; sources: readonly ColumnSource[] }>>;

/** Per output column (by position), its source columns. */
export function viewLineage(definition: string, columnsOf: RelationColumns): ColumnSource[][] {
  const select = bodyOf(parseTree(definition)[0]?.stmt, 'SelectStmt');
  if (!select) return [];
  return selectOutputs(select, [], new Map(), columnsOf).map((o) => dedupe(o.sources));
}

function dedupe(sources: readonly ColumnSource[]): ColumnSource[] {
  const seen = new Map<string, ColumnSource>();
  for (const s of sources) seen.set(`${s.schema}\0${s.relation}\0${s.column}`, s);
  return [...seen.values()];
}

function selectOutputs(
  select: SelectStmt,
  outer: readonly ScopeItem[][],
  parentCtes: Ctes,
  columnsOf: RelationColumns,
): Array<{ name: string; sources: ColumnSource[] }> {
  const ctes = new Map(parentCtes);
  for (const cte of select.withClause?.ctes ?? []) {
    const c = bodyOf(cte, 'CommonTableExpr')!;
    const query = bodyOf(c.ctequery, 'SelectStmt');
    if (!query) continue;
    // A recursive CTE refers to itself: its non-recursive branch says what it is made of.
    const base = query.op && query.op !== 'SETOP_NONE' ? (query.larg ?? query) : query;
    const outputs = selectOutputs(base, outer, ctes, columnsOf);
    const names = (c.aliascolnames ?? []).map(stringOf);
    ctes.set(
      c.ctename!,
      outputs.map((o, i) => ({ name: names[i] ?? o.name, sources: o.sources })),
    );
  }
  if (select.op && select.op !== 'SETOP_NONE') {
    const left = selectOutputs(select.larg!, outer, ctes, columnsOf);
    const right = selectOutputs(select.rarg!, outer, ctes, columnsOf);
    return left.map((o, i) => ({ name: o.name, sources: [...o.sources, ...(right[i]?.sources ?? [])] }));
  }
  const scope: ScopeItem[] = [];
  for (const item of select.fromClause ?? []) scope.push(...fromItem(item, outer, ctes, columnsOf));
  const scopes = [scope, ...outer];
  return (select.targetList ?? []).map((t) => {
    const target = bodyOf(t, 'ResTarget')!;
    const refs = expressionSources(target.val, scopes, ctes, columnsOf);
    const fields = bodyOf(target.val, 'ColumnRef')?.fields ?? [];
    return {
      name: target.name ?? stringOf(fields[fields.length - 1]) ?? '?column?',
      sources: refs,
    };
  });
}

function fromItem(
  item: PgNode | undefined,
  outer: readonly ScopeItem[][],
  ctes: Ctes,
  columnsOf: RelationColumns,
): ScopeItem[] {
  const rv = bodyOf(item, 'RangeVar');
  if (rv) {
    const name = rv.relname!;
    const alias = rv.alias?.aliasname ?? name;
    const cte = !rv.schemaname ? ctes.get(name) : undefined;
    if (cte) return [{ alias, columns: new Map(cte.map((o) => [o.name, o.sources])) }];
    const schema = rv.schemaname ?? 'public';
    const columns = columnsOf(schema, name) ?? [];
    return [{ alias, columns: new Map(columns.map((c) => [c, [{ schema, relation: name, column: c }]])) }];
  }
  const sub = bodyOf(item, 'RangeSubselect');
  if (sub) {
    const outputs = selectOutputs(bodyOf(sub.subquery, 'SelectStmt')!, outer, ctes, columnsOf);
    const alias = sub.alias?.aliasname;
    const names = (sub.alias?.colnames ?? []).map(stringOf);
    return [{ alias: alias ?? '', columns: new Map(outputs.map((o, i) => [names[i] ?? o.name, o.sources])) }];
  }
  const join = bodyOf(item, 'JoinExpr');
  if (join) {
    return [...fromItem(join.larg, outer, ctes, columnsOf), ...fromItem(join.rarg, outer, ctes, columnsOf)];
  }
  return [];
}

function resolve(fields: readonly string[], scopes: readonly ScopeItem[][]): readonly ColumnSource[] {
  const column = fields[fields.length - 1]!;
  const qualifier = fields.length >= 2 ? fields[fields.length - 2] : undefined;
  for (const scope of scopes) {
    for (const item of scope) {
      if (qualifier !== undefined && item.alias !== qualifier) continue;
      const found = item.columns.get(column);
      if (found) return found;
      // `alias.*` or a whole-row reference: everything the item has.
      if (qualifier !== undefined && column === '*') return [...item.columns.values()].flat();
    }
  }
  // A bare name that is a FROM item's alias is a whole-row reference (`to_json(c)`).
  if (qualifier === undefined)
    for (const scope of scopes)
      for (const item of scope) if (item.alias === column) return [...item.columns.values()].flat();
  return [];
}

function expressionSources(
  node: unknown,
  scopes: readonly ScopeItem[][],
  ctes: Ctes,
  columnsOf: RelationColumns,
): ColumnSource[] {
  const out: ColumnSource[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) {
      for (const x of n) walk(x);
      return;
    }
    if (!isTreeObject(n)) return;
    const ref = bodyOf(n, 'ColumnRef');
    if (ref) {
      const fields = ref.fields!.map((f) => stringOf(f) ?? (isKind(f, 'A_Star') ? '*' : ''));
      out.push(...resolve(fields, scopes));
      return;
    }
    const link = bodyOf(n, 'SubLink');
    if (link) {
      const sub = bodyOf(link.subselect, 'SelectStmt');
      if (sub) for (const o of selectOutputs(sub, scopes, ctes, columnsOf)) out.push(...o.sources);
      walk(link.testexpr);
      return;
    }
    // Every field of every other kind: a reference inside a kind not named here is still found.
    for (const value of Object.values(n)) walk(value);
  };
  walk(node);
  return out;
}
