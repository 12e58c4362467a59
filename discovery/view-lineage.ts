/**
 * Which columns a view's columns are computed from, read from its definition as PostgreSQL prints
 * it (pg_get_viewdef, every name qualified): each output column's expression is walked for column
 * references (scalar subqueries included), and each reference resolved against the FROM clause —
 * tables, subqueries, joins, CTEs. Output columns are matched to the catalog's columns by position.
 * What cannot be resolved is left out rather than guessed.
 */
import { parseStatements } from '../rewriter';
import type { Node } from '../rewriter';

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

const sval = (n: Node | undefined): string | undefined => n?.String?.sval as string | undefined;

/** Per output column (by position), its source columns. */
export function viewLineage(definition: string, columnsOf: RelationColumns): ColumnSource[][] {
  const parsed = parseStatements(definition)[0];
  if (!parsed?.stmt.SelectStmt) return [];
  return selectOutputs(parsed.stmt.SelectStmt as Node, [], new Map(), columnsOf).map((o) => dedupe(o.sources));
}

function dedupe(sources: readonly ColumnSource[]): ColumnSource[] {
  const seen = new Map<string, ColumnSource>();
  for (const s of sources) seen.set(`${s.schema}\0${s.relation}\0${s.column}`, s);
  return [...seen.values()];
}

function selectOutputs(
  select: Node,
  outer: readonly ScopeItem[][],
  parentCtes: Ctes,
  columnsOf: RelationColumns,
): Array<{ name: string; sources: ColumnSource[] }> {
  const ctes = new Map(parentCtes);
  for (const cte of ((select.withClause as Node | undefined)?.ctes as Node[] | undefined) ?? []) {
    const c = cte.CommonTableExpr as Node;
    const query = (c.ctequery as Node).SelectStmt as Node | undefined;
    if (!query) continue;
    // A recursive CTE refers to itself: its non-recursive branch says what it is made of.
    const base = query.op && query.op !== 'SETOP_NONE' ? ((query.larg as Node) ?? query) : query;
    const outputs = selectOutputs(base, outer, ctes, columnsOf);
    const names = ((c.aliascolnames as Node[] | undefined) ?? []).map(sval);
    ctes.set(
      c.ctename as string,
      outputs.map((o, i) => ({ name: names[i] ?? o.name, sources: o.sources })),
    );
  }
  if (select.op && select.op !== 'SETOP_NONE') {
    const left = selectOutputs(select.larg as Node, outer, ctes, columnsOf);
    const right = selectOutputs(select.rarg as Node, outer, ctes, columnsOf);
    return left.map((o, i) => ({ name: o.name, sources: [...o.sources, ...(right[i]?.sources ?? [])] }));
  }
  const scope: ScopeItem[] = [];
  for (const item of (select.fromClause as Node[] | undefined) ?? [])
    scope.push(...fromItem(item, outer, ctes, columnsOf));
  const scopes = [scope, ...outer];
  return ((select.targetList as Node[] | undefined) ?? []).map((t) => {
    const target = t.ResTarget as Node;
    const refs = expressionSources(target.val as Node, scopes, ctes, columnsOf);
    const fields = ((target.val as Node)?.ColumnRef?.fields as Node[] | undefined) ?? [];
    return {
      name: (target.name as string | undefined) ?? sval(fields[fields.length - 1]) ?? '?column?',
      sources: refs,
    };
  });
}

function fromItem(item: Node, outer: readonly ScopeItem[][], ctes: Ctes, columnsOf: RelationColumns): ScopeItem[] {
  if (item.RangeVar) {
    const rv = item.RangeVar as Node;
    const name = rv.relname as string;
    const alias = ((rv.alias as Node | undefined)?.aliasname as string | undefined) ?? name;
    const cte = !rv.schemaname ? ctes.get(name) : undefined;
    if (cte) return [{ alias, columns: new Map(cte.map((o) => [o.name, o.sources])) }];
    const schema = (rv.schemaname as string | undefined) ?? 'public';
    const columns = columnsOf(schema, name) ?? [];
    return [{ alias, columns: new Map(columns.map((c) => [c, [{ schema, relation: name, column: c }]])) }];
  }
  if (item.RangeSubselect) {
    const sub = item.RangeSubselect as Node;
    const outputs = selectOutputs((sub.subquery as Node).SelectStmt as Node, outer, ctes, columnsOf);
    const alias = (sub.alias as Node | undefined)?.aliasname as string | undefined;
    const names = (((sub.alias as Node | undefined)?.colnames as Node[] | undefined) ?? []).map(sval);
    return [{ alias: alias ?? '', columns: new Map(outputs.map((o, i) => [names[i] ?? o.name, o.sources])) }];
  }
  if (item.JoinExpr) {
    const join = item.JoinExpr as Node;
    return [
      ...fromItem(join.larg as Node, outer, ctes, columnsOf),
      ...fromItem(join.rarg as Node, outer, ctes, columnsOf),
    ];
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
    if (!n || typeof n !== 'object') return;
    const obj = n as Node;
    if (obj.ColumnRef) {
      const fields = ((obj.ColumnRef as Node).fields as Node[]).map((f) => sval(f) ?? (f.A_Star ? '*' : ''));
      out.push(...resolve(fields, scopes));
      return;
    }
    if (obj.SubLink) {
      const sub = (obj.SubLink as Node).subselect as Node | undefined;
      if (sub?.SelectStmt)
        for (const o of selectOutputs(sub.SelectStmt as Node, scopes, ctes, columnsOf)) out.push(...o.sources);
      walk((obj.SubLink as Node).testexpr);
      return;
    }
    for (const value of Object.values(obj)) walk(value);
  };
  walk(node);
  return out;
}
