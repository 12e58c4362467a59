/**
 * A view over protected relations is read the way PostgreSQL's rewriter reads any view: its stored
 * query replaces the reference, as a sub-select under the reference's alias and with the view's own
 * column names. The protected relations inside it are then substituted like any other, so what the
 * view shows is computed from masked values and filtered rows only.
 *
 * What expansion keeps and what it changes, relative to PostgreSQL reading the view itself:
 * - names: the definition is the one PostgreSQL bound at creation (catalog-types.ts CatalogView),
 *   resolved under an empty search_path and outside the analyst's CTEs;
 * - security_barrier: the view's own conditions must run before any of the reader's that could
 *   leak; the sub-select joins the fenced ones (OFFSET 0) whenever the statement has such a condition;
 * - security_invoker and ownership: the expanded query reads the base relations as the service
 *   account, whichever it was (the view owner's rights, or the invoker's); pgveil's reader is the
 *   service account in both cases;
 * - WITH CHECK OPTION constrains INSERT and UPDATE through the view, which pgveil refuses anyway;
 *   it has no effect on reads.
 */
import type { CatalogRelation, CatalogView } from './catalog-types';
import { kindOf, type Node } from './ast';
import { parseStatements } from './sql-parser';
import { GuardRefusal } from './statement-guard';

/** PostgreSQL cannot create a cycle of views; nesting deeper than this is refused all the same. */
const MAX_VIEW_DEPTH = 32;

const parsed = new WeakMap<CatalogView, Node>();

/** A fresh copy of the view's stored query ({SelectStmt: ...}), to be rewritten in place. */
export function viewQuery(relation: CatalogRelation, depth: number): Node {
  const qualified = `${relation.schema}.${relation.name}`;
  const view = relation.view;
  if (!view) {
    // Without its definition pgveil cannot expand the view, and reading it as it is would read the
    // protected relations with the owner's rights.
    throw new GuardRefusal(
      'view_over_protected',
      `view "${qualified}" reads a protected relation and pgveil has no definition of it to expand`,
    );
  }
  if (depth >= MAX_VIEW_DEPTH)
    throw new GuardRefusal(
      'view_depth',
      `view "${qualified}" nests views more than ${MAX_VIEW_DEPTH} levels deep`,
      '54001',
    );
  let query = parsed.get(view);
  if (!query) {
    const statements = parseStatements(view.definition);
    const first = statements[0]?.stmt;
    if (statements.length !== 1 || !first || kindOf(first) !== 'SelectStmt') {
      throw new GuardRefusal(
        'view_over_protected',
        `view "${qualified}" has a definition pgveil cannot read as one query`,
      );
    }
    query = first;
    parsed.set(view, query);
  }
  return structuredClone(query);
}

/**
 * The sub-select that stands for the view: `(definition) AS alias(columns)`. The view's attribute
 * names are the column names (PostgreSQL keeps them apart from the query's own output names after
 * ALTER VIEW ... RENAME COLUMN); a column alias list the reader wrote replaces them from the left.
 */
export function viewSubselect(query: Node, relation: CatalogRelation, alias: Node | undefined): Node {
  const written = ((alias?.colnames as Node[] | undefined) ?? []).map((n) => n.String?.sval as string);
  if (written.length > relation.columns.length) {
    throw new GuardRefusal(
      'view_columns',
      `view "${relation.schema}.${relation.name}" has ${relation.columns.length} columns available but ${written.length} columns specified`,
      '42P10',
    );
  }
  const colnames = relation.columns.map((column, i) => ({ String: { sval: written[i] ?? column.name } }));
  return {
    RangeSubselect: {
      subquery: query,
      alias: { aliasname: (alias?.aliasname as string | undefined) ?? relation.name, colnames },
    },
  };
}

/**
 * The select a security_barrier view's conditions live in, when it still needs a fence: one that
 * already has LIMIT or OFFSET is never pulled up or pushed into by PostgreSQL.
 */
export function barrierSelect(relation: CatalogRelation, query: Node): Node | undefined {
  if (!relation.view?.securityBarrier) return undefined;
  const select = query.SelectStmt as Node;
  return select.limitOffset || select.limitCount ? undefined : select;
}

/**
 * The FROM item and column that a view's output column shows unchanged (its target is a plain
 * column reference), or undefined when the view computes the value. A view tag on such a column
 * meets a value the base relation's rule already transformed (relation-substitution.ts viewTags).
 */
export function passThroughSource(
  query: Node,
  index: number,
): { readonly item: Node; readonly column: string } | undefined {
  const select = query.SelectStmt as Node | undefined;
  if (!select || (select.op !== undefined && select.op !== 'SETOP_NONE')) return undefined;
  const target = ((select.targetList as Node[] | undefined) ?? [])[index]?.ResTarget?.val as Node | undefined;
  const fields = target?.ColumnRef?.fields as Node[] | undefined;
  const column = fields?.[fields.length - 1]?.String?.sval as string | undefined;
  if (!fields || !column || fields.length > 2) return undefined;
  const items = fromItems((select.fromClause as Node[] | undefined) ?? []);
  if (fields.length === 1) return items.length === 1 ? { item: items[0]!, column } : undefined;
  const alias = fields[0]?.String?.sval as string | undefined;
  const matching = items.filter(
    (item) =>
      (item.RangeSubselect?.alias?.aliasname ?? item.RangeVar?.alias?.aliasname ?? item.RangeVar?.relname) === alias,
  );
  return matching.length === 1 ? { item: matching[0]!, column } : undefined;
}

/** FROM items with joins flattened into the relations and sub-selects they join. */
function fromItems(list: readonly Node[]): Node[] {
  return list.flatMap((item) =>
    item.JoinExpr ? fromItems([item.JoinExpr.larg as Node, item.JoinExpr.rarg as Node]) : [item],
  );
}
