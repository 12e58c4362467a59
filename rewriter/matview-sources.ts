/**
 * A materialized view is a stored copy: pgveil protects it by its own columns' tags, never by what
 * it was computed from. A copy of a tagged column that carries no tag itself is therefore served
 * unmasked; this finds those columns so the catalog refresh can raise an event for each.
 *
 * Which source columns a matview column is computed from: its output expression in the stored
 * query, its column references resolved against the query's FROM list (the text is fully
 * qualified, see CatalogView). Where that cannot be told (a reference into a sub-query, a function
 * in FROM, anything unresolved), the column is taken to come from every column the query reads.
 * A source that is a view stands for every column it reads, through its own views too.
 */
import type { ColumnRef, SelectStmt } from '@pgsql/types';
import type { CatalogColumn, CatalogRelation, CatalogSnapshot } from './catalog-types';
import { bodyOf, isKind, isTreeObject, stringOf, type PgNode } from './ast';
import { parseTree } from './sql-parser';

export interface UntaggedMatviewColumn {
  readonly schema: string;
  readonly name: string;
  readonly column: string;
  /** Tagged source columns, `schema.relation.column`, sorted. */
  readonly sources: readonly string[];
}

export type ColumnTags = (relation: CatalogRelation, column: CatalogColumn) => readonly string[];

/** Every untagged column of a materialized view that is computed from a tagged column. */
export function untaggedMatviewColumns(catalog: CatalogSnapshot, tagsOf: ColumnTags): UntaggedMatviewColumn[] {
  const found: UntaggedMatviewColumn[] = [];
  for (const matview of catalog.all()) {
    if (matview.kind !== 'm' || !matview.view) continue;
    const sources = outputSources(catalog, matview);
    matview.columns.forEach((column, i) => {
      if (tagsOf(matview, column).length > 0) return;
      const tagged = new Set<string>();
      for (const source of sources[i] ?? [{ readBy: matview }]) {
        for (const [relation, col] of taggedColumns(catalog, tagsOf, source))
          tagged.add(`${relation.schema}.${relation.name}.${col.name}`);
      }
      if (tagged.size > 0)
        found.push({ schema: matview.schema, name: matview.name, column: column.name, sources: [...tagged].sort() });
    });
  }
  const key = (f: UntaggedMatviewColumn): string => `${f.schema}\0${f.name}\0${f.column}`;
  return found.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** A source: one column of a relation, or every column the view or matview reads. */
type Source = { readonly relation: CatalogRelation; readonly column: string } | { readonly readBy: CatalogRelation };

/** Per output column, its sources; everything the matview reads where that cannot be told. */
function outputSources(catalog: CatalogSnapshot, matview: CatalogRelation): Source[][] {
  const everything: Source[] = [{ readBy: matview }];
  let query: SelectStmt | undefined;
  try {
    query = bodyOf(parseTree(matview.view!.definition)[0]?.stmt, 'SelectStmt');
  } catch {
    query = undefined;
  }
  if (!query) return matview.columns.map(() => everything);
  const result: Array<Source[] | 'all'> = matview.columns.map(() => []);
  for (const leaf of leaves(query)) {
    const from = fromItems(catalog, leaf.fromClause ?? []);
    (leaf.targetList ?? []).forEach((target, i) => {
      if (result[i] === 'all' || result[i] === undefined) return;
      const refs = columnRefs(bodyOf(target, 'ResTarget')?.val);
      const resolved = refs.map((ref) => resolve(from, ref));
      if (resolved.some((r) => r === undefined)) result[i] = 'all';
      else result[i].push(...(resolved.flat() as Source[]));
    });
  }
  return result.map((r) => (r === 'all' ? everything : r));
}

/** The SELECTs whose output columns make up a set operation's. */
function leaves(select: SelectStmt): SelectStmt[] {
  if (select.op && select.op !== 'SETOP_NONE') return [...leaves(select.larg!), ...leaves(select.rarg!)];
  return [select];
}

/** FROM items by the name their columns are qualified with; undefined for what cannot be resolved. */
function fromItems(catalog: CatalogSnapshot, items: readonly PgNode[]): Map<string, CatalogRelation | undefined> {
  const map = new Map<string, CatalogRelation | undefined>();
  const add = (item: PgNode | undefined): void => {
    if (isKind(item, 'RangeVar')) {
      const body = item.RangeVar;
      const relation = catalog.relation(body.schemaname ?? 'pg_catalog', body.relname!);
      map.set(body.alias?.aliasname ?? body.relname!, relation);
    } else if (isKind(item, 'JoinExpr')) {
      const body = item.JoinExpr;
      add(body.larg);
      add(body.rarg);
      if (body.alias) map.set(body.alias.aliasname!, undefined);
    } else {
      map.set(aliasOf(item) ?? `\0${map.size}`, undefined);
    }
  };
  for (const item of items) add(item);
  return map;
}

/**
 * The alias of any other FROM item (a sub-select, a function, JSON_TABLE...): read by field name
 * whatever the item's kind, so that a kind this does not know still has its alias seen.
 */
function aliasOf(item: PgNode | undefined): string | undefined {
  const body = item === undefined ? undefined : Object.values(item)[0];
  const alias = isTreeObject(body) ? body.alias : undefined;
  const name = isTreeObject(alias) ? alias.aliasname : undefined;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Every column reference in an expression. A generic walk (ast.ts TreeObject): every field of every
 * node is searched, whatever its kind, so no reference is missed in a kind this does not know.
 */
function columnRefs(value: unknown, out: ColumnRef[] = []): ColumnRef[] {
  if (Array.isArray(value)) for (const v of value) columnRefs(v, out);
  else if (isTreeObject(value)) {
    if (isKind(value, 'ColumnRef')) out.push(value.ColumnRef);
    else for (const v of Object.values(value)) columnRefs(v, out);
  }
  return out;
}

/** The sources a column reference stands for, or undefined when it cannot be told. */
function resolve(from: Map<string, CatalogRelation | undefined>, ref: ColumnRef): Source[] | undefined {
  const fields = ref.fields!.map((f) => (isKind(f, 'A_Star') ? '*' : (stringOf(f) ?? '')));
  const sourceOf = (relation: CatalogRelation, column: string | undefined): Source[] =>
    relation.kind === 'v'
      ? [{ readBy: relation }]
      : column === undefined
        ? relation.columns.map((c) => ({ relation, column: c.name }))
        : [{ relation, column }];
  if (fields.length >= 2) {
    const relation = from.get(fields[fields.length - 2]!);
    if (!relation) return undefined;
    const column = fields[fields.length - 1]!;
    return sourceOf(relation, column === '*' ? undefined : column);
  }
  const name = fields[0]!;
  if (from.has(name)) {
    const relation = from.get(name);
    return relation ? sourceOf(relation, undefined) : undefined;
  }
  const owners = [...from.values()].filter((r) => r === undefined || r.columns.some((c) => c.name === name));
  if (owners.length === 0 || owners.includes(undefined)) return undefined;
  return owners.flatMap((r) => sourceOf(r!, name));
}

/** The tagged columns a source stands for: its own tags, its partition parents', or what a view reads. */
function taggedColumns(
  catalog: CatalogSnapshot,
  tagsOf: ColumnTags,
  source: Source,
  seen: Set<number> = new Set(),
): Array<[CatalogRelation, CatalogColumn]> {
  if ('readBy' in source) {
    if (seen.has(source.readBy.oid)) return [];
    seen.add(source.readBy.oid);
    return (source.readBy.view?.columnsRead ?? []).flatMap(({ relation, column }) => {
      const read = catalog.relationByOid(relation);
      if (!read) return [];
      return taggedColumns(catalog, tagsOf, read.kind === 'v' ? { readBy: read } : { relation: read, column }, seen);
    });
  }
  const column = source.relation.columns.find((c) => c.name === source.column);
  if (!column) return [];
  if (tagsOf(source.relation, column).length > 0) return [[source.relation, column]];
  for (const parentOid of source.relation.parents) {
    const parent = catalog.relationByOid(parentOid);
    const inherited = parent?.columns.find((c) => c.name === column.name);
    if (parent && inherited && tagsOf(parent, inherited).length > 0) return [[parent, inherited]];
  }
  return [];
}
