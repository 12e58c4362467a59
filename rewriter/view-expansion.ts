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
import type { Alias, SelectStmt } from '@pgsql/types';
import type { CatalogRelation, CatalogView } from './catalog-types';
import { bodyOf, isKind, stringOf, type NodeOf, type PgNode } from './ast';
import { parseTree } from './sql-parser';
import { GuardRefusal } from './statement-guard';

/** PostgreSQL cannot create a cycle of views; nesting deeper than this is refused all the same. */
const MAX_VIEW_DEPTH = 32;

const parsed = new WeakMap<CatalogView, NodeOf<'SelectStmt'>>();

/** A fresh copy of the view's stored query ({SelectStmt: ...}), to be rewritten in place. */
export function viewQuery(relation: CatalogRelation, depth: number): NodeOf<'SelectStmt'> {
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
    const statements = parseTree(view.definition);
    const first = statements[0]?.stmt;
    if (statements.length !== 1 || !isKind(first, 'SelectStmt')) {
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
export function viewSubselect(
  query: PgNode,
  relation: CatalogRelation,
  alias: Alias | undefined,
): NodeOf<'RangeSubselect'> {
  const written = (alias?.colnames ?? []).map(stringOf);
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
      alias: { aliasname: alias?.aliasname ?? relation.name, colnames },
    },
  };
}

/**
 * The select a security_barrier view's conditions live in, when it still needs a fence: one that
 * already has LIMIT or OFFSET is never pulled up or pushed into by PostgreSQL.
 */
export function barrierSelect(relation: CatalogRelation, query: PgNode): SelectStmt | undefined {
  if (!relation.view?.securityBarrier) return undefined;
  const select = bodyOf(query, 'SelectStmt');
  if (!select) throw new Error('an expanded view is not a SELECT');
  return select.limitOffset || select.limitCount ? undefined : select;
}

/**
 * The FROM item and column that a view's output column shows unchanged (its target is a plain
 * column reference), or undefined when the view computes the value. A view tag on such a column
 * meets a value the base relation's rule already transformed (relation-substitution.ts viewTags).
 */
export function passThroughSource(
  query: PgNode,
  index: number,
): { readonly item: PgNode; readonly column: string } | undefined {
  const select = bodyOf(query, 'SelectStmt');
  if (!select || (select.op !== undefined && select.op !== 'SETOP_NONE')) return undefined;
  const target = bodyOf(select.targetList?.[index], 'ResTarget')?.val;
  const fields = bodyOf(target, 'ColumnRef')?.fields;
  const column = stringOf(fields?.[fields.length - 1]);
  if (!fields || !column || fields.length > 2) return undefined;
  const items = fromItems(select.fromClause ?? []);
  if (fields.length === 1) return items.length === 1 ? { item: items[0]!, column } : undefined;
  const alias = stringOf(fields[0]);
  const matching = items.filter((item) => {
    const relation = bodyOf(item, 'RangeVar');
    return (
      (bodyOf(item, 'RangeSubselect')?.alias?.aliasname ?? relation?.alias?.aliasname ?? relation?.relname) === alias
    );
  });
  return matching.length === 1 ? { item: matching[0]!, column } : undefined;
}

/** FROM items with joins flattened into the relations and sub-selects they join. */
function fromItems(list: readonly PgNode[]): PgNode[] {
  return list.flatMap((item) => {
    const join = bodyOf(item, 'JoinExpr');
    return join ? fromItems([join.larg, join.rarg].filter((side) => side !== undefined)) : [item];
  });
}
