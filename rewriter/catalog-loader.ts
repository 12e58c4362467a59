/**
 * Reads the upstream catalog with the service account: every relation pgveil may have to resolve
 * (user schemas, pg_catalog, information_schema), columns in attnum order with their comments,
 * inheritance parents and what views read. Temporary and toast schemas are left out: a name there
 * resolves to nothing and is refused.
 */
import type { Client } from 'pg';
import type { CatalogColumn, CatalogRelation, CatalogSnapshot, RelationKind } from './catalog-types';

const RELATIONS_SQL = `
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
       COALESCE((SELECT pg_catalog.array_agg(i.inhparent::int8 ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid), '{}') AS parents,
       COALESCE((SELECT pg_catalog.array_agg(DISTINCT d.refobjid::int8) FROM pg_catalog.pg_rewrite r
                 JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
                  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid <> c.oid
                 WHERE r.ev_class = c.oid), '{}') AS depends_on
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

const COLUMNS_SQL = `
SELECT a.attrelid::int8 AS relid, a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       a.atttypid::int8 AS type_oid, pg_catalog.col_description(a.attrelid, a.attnum) AS comment
FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
ORDER BY a.attrelid, a.attnum`;

let versions = 0;

export async function loadCatalog(client: Client): Promise<CatalogSnapshot> {
  const [relations, columns] = await Promise.all([client.query(RELATIONS_SQL), client.query(COLUMNS_SQL)]);
  const columnsOf = new Map<number, CatalogColumn[]>();
  for (const row of columns.rows as Array<{ relid: string; name: string; type: string; type_oid: string; comment: string | null }>) {
    const list = columnsOf.get(Number(row.relid)) ?? [];
    list.push({ name: row.name, type: row.type, typeOid: Number(row.type_oid), ...(row.comment ? { comment: row.comment } : {}) });
    columnsOf.set(Number(row.relid), list);
  }
  const list: CatalogRelation[] = (relations.rows as Array<{ oid: string; schema: string; name: string; kind: string; parents: string[]; depends_on: string[] }>).map((r) => ({
    oid: Number(r.oid),
    schema: r.schema,
    name: r.name,
    kind: r.kind as RelationKind,
    columns: columnsOf.get(Number(r.oid)) ?? [],
    parents: r.parents.map(Number),
    dependsOn: r.depends_on.map(Number),
  }));
  return createCatalogSnapshot(list, ++versions);
}

export function createCatalogSnapshot(relations: readonly CatalogRelation[], version: number): CatalogSnapshot {
  const byName = new Map(relations.map((r) => [`${r.schema}\0${r.name}`, r]));
  const byOid = new Map(relations.map((r) => [r.oid, r]));
  const schemas = new Set(relations.map((r) => r.schema));
  return {
    version,
    relation: (schema, name) => byName.get(`${schema}\0${name}`),
    relationByOid: (oid) => byOid.get(oid),
    hasSchema: (schema) => schemas.has(schema),
    all: () => relations,
  };
}
