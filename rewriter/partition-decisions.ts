/**
 * What protects a relation that is part of a partition or inheritance tree. PostgreSQL reads a
 * parent's rows from its partitions (children), and each partition is also a relation of its own:
 *
 * - columns: the most restrictive action among the relation's own, every ancestor's and every
 *   descendant's decides, as if the tags of the whole tree were on the column. A tag on a
 *   partition's column therefore masks that column when the parent is read (the rows come from the
 *   partition), and a tag on the parent masks it when the partition is read directly;
 * - rows: every ancestor's filter holds on all the relation's rows (they are the ancestor's rows);
 *   a descendant's own filter holds on the rows stored in that descendant, which `tableoid` tells
 *   apart: `NOT (tableoid = ANY (descendant and its own descendants)) OR filter`. A descendant the
 *   principal may not read at all contributes none of its rows;
 * - access: denied when it is denied on the relation or an ancestor.
 */
import type { ColumnDecision, RelationDecision, RowPredicate } from '../policies';
import { isMoreRestrictive } from '../policies';
import type { CatalogRelation, CatalogSnapshot } from './catalog-types';

const childrenIndex = new WeakMap<CatalogSnapshot, ReadonlyMap<number, readonly CatalogRelation[]>>();

/** Direct children (partitions, inheritance children) of each relation, built once per snapshot. */
function childrenOf(catalog: CatalogSnapshot, oid: number): readonly CatalogRelation[] {
  let index = childrenIndex.get(catalog);
  if (!index) {
    const map = new Map<number, CatalogRelation[]>();
    for (const relation of catalog.all()) {
      for (const parent of relation.parents) map.set(parent, [...(map.get(parent) ?? []), relation]);
    }
    index = map;
    childrenIndex.set(catalog, index);
  }
  return index.get(oid) ?? [];
}

/** Every relation below this one, each once (multiple inheritance can reach one twice). */
export function descendantsOf(catalog: CatalogSnapshot, relation: CatalogRelation): CatalogRelation[] {
  const found = new Map<number, CatalogRelation>();
  const walk = (oid: number): void => {
    for (const child of childrenOf(catalog, oid)) {
      if (found.has(child.oid) || child.oid === relation.oid) continue;
      found.set(child.oid, child);
      walk(child.oid);
    }
  };
  walk(relation.oid);
  return [...found.values()];
}

/** Every relation above this one, each once. */
export function ancestorsOf(catalog: CatalogSnapshot, relation: CatalogRelation): CatalogRelation[] {
  const found = new Map<number, CatalogRelation>();
  const walk = (r: CatalogRelation): void => {
    for (const oid of r.parents) {
      const parent = catalog.relationByOid(oid);
      if (!parent || found.has(oid) || oid === relation.oid) continue;
      found.set(oid, parent);
      walk(parent);
    }
  };
  walk(relation);
  return [...found.values()];
}

export interface DescendantDecision {
  readonly decision: RelationDecision;
  /** The tableoid of every row the descendant holds: its own oid and those of its descendants. */
  readonly tableoids: readonly number[];
}

/** The decision for reading `own`'s relation, given the decisions of its tree (see above). */
export function treeDecision(
  own: RelationDecision,
  ancestors: readonly RelationDecision[],
  descendants: readonly DescendantDecision[],
): RelationDecision {
  if (ancestors.length === 0 && descendants.length === 0) return own;
  const columns: Record<string, ColumnDecision> = {};
  for (const decision of [own, ...ancestors, ...descendants.map((d) => d.decision)]) {
    for (const [name, column] of Object.entries(decision.columns)) {
      const chosen = columns[name];
      if (!chosen || isMoreRestrictive(column.action, chosen.action)) columns[name] = column;
    }
  }
  const predicates: RowPredicate[] = [];
  let none = false;
  for (const decision of [own, ...ancestors]) {
    if (decision.rows.kind === 'none') none = true;
    if (decision.rows.kind === 'filter') predicates.push(decision.rows.predicate);
  }
  for (const { decision, tableoids } of descendants) {
    const elsewhere: RowPredicate = { op: 'not', arg: { op: 'in', column: 'tableoid', values: tableoids } };
    if (decision.access === 'deny' || decision.rows.kind === 'none') predicates.push(elsewhere);
    else if (decision.rows.kind === 'filter') predicates.push({ op: 'or', args: [elsewhere, decision.rows.predicate] });
  }
  const rowRules = [...new Set([own, ...ancestors, ...descendants.map((d) => d.decision)].flatMap((d) => d.rowRules))];
  return {
    access: [own, ...ancestors].some((d) => d.access === 'deny') ? 'deny' : 'allow',
    columns,
    rows: none
      ? { kind: 'none' }
      : predicates.length === 0
        ? { kind: 'all' }
        : { kind: 'filter', predicate: predicates.length === 1 ? predicates[0]! : { op: 'and', args: predicates } },
    rowRules,
  };
}
