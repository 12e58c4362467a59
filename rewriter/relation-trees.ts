/**
 * The partition or inheritance tree around a relation (partition-decisions.ts: every ancestor, every
 * descendant with the tableoids of its rows), found once per relation of a catalog snapshot: a
 * snapshot is immutable (catalog-types.ts), so its trees are too.
 */
import type { CatalogRelation, CatalogSnapshot } from './catalog-types';
import { ancestorsOf, descendantsOf } from './partition-decisions';

export interface RelationTree {
  readonly ancestors: readonly CatalogRelation[];
  /** Each descendant, with its own oid and those of its descendants (the tableoids of its rows). */
  readonly descendants: ReadonlyArray<{ readonly relation: CatalogRelation; readonly tableoids: readonly number[] }>;
}

const trees = new WeakMap<CatalogSnapshot, WeakMap<CatalogRelation, RelationTree>>();

export function relationTree(catalog: CatalogSnapshot, relation: CatalogRelation): RelationTree {
  let ofCatalog = trees.get(catalog);
  if (!ofCatalog) {
    ofCatalog = new WeakMap();
    trees.set(catalog, ofCatalog);
  }
  let tree = ofCatalog.get(relation);
  if (!tree) {
    tree = Object.freeze({
      ancestors: Object.freeze(ancestorsOf(catalog, relation)),
      descendants: Object.freeze(
        descendantsOf(catalog, relation).map((descendant) =>
          Object.freeze({
            relation: descendant,
            tableoids: Object.freeze([descendant.oid, ...descendantsOf(catalog, descendant).map((r) => r.oid)]),
          }),
        ),
      ),
    });
    ofCatalog.set(relation, tree);
  }
  return tree;
}
