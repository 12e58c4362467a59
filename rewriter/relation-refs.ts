/**
 * What policies are told of a catalog relation (RelationRef: names, column types, comments), built
 * once per relation of a catalog snapshot and frozen, so that a snapshot's decisionsFor() can
 * remember its answer per relation (policies/decision-memo.ts). A catalog snapshot is immutable
 * (catalog-types.ts): a refresh builds new relation objects, which get descriptions of their own.
 */
import type { RelationRef } from '../policies';
import type { CatalogRelation } from './catalog-types';

const described = new WeakMap<CatalogRelation, RelationRef>();

export function relationRef(relation: CatalogRelation, dataProduct: string): RelationRef {
  const found = described.get(relation);
  if (found?.dataProduct === dataProduct) return found;
  const ref: RelationRef = Object.freeze({
    dataProduct,
    schema: relation.schema,
    name: relation.name,
    columns: Object.freeze(
      relation.columns.map((c) =>
        Object.freeze({ name: c.name, type: c.type, ...(c.comment ? { comment: c.comment } : {}) }),
      ),
    ),
  });
  described.set(relation, ref);
  return ref;
}
