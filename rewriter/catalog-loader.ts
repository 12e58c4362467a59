/**
 * Reads the upstream catalog with the service account: every relation pgveil may have to resolve
 * (user schemas, pg_catalog, information_schema), columns in attnum order with their comments,
 * inheritance parents and what views read; and every function, operator and coercion outside the
 * system schemas, which function-access.ts checks calls against. Temporary and toast schemas are
 * left out: a name there resolves to nothing and is refused.
 */
import type { Client } from 'pg';
import type {
  CatalogCast,
  CatalogColumn,
  CatalogFunction,
  CatalogOperator,
  CatalogRelation,
  CatalogRoutines,
  CatalogSnapshot,
  CatalogView,
  RelationKind,
} from './catalog-types';

const RELATIONS_SQL = `
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
       COALESCE((SELECT pg_catalog.array_agg(i.inhparent::int8 ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid), '{}') AS parents,
       COALESCE((SELECT pg_catalog.array_agg(DISTINCT x.oid) FROM (
                   SELECT d.refobjid::int8 AS oid FROM pg_catalog.pg_rewrite r
                   JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
                    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                   WHERE r.ev_class = c.oid
                   -- pg_depend records nothing on pinned objects (the catalogs initdb made: pg_authid,
                   -- pg_statistic, pg_subscription...): the rule's range table names them.
                   UNION SELECT m[1]::int8 FROM pg_catalog.pg_rewrite r, pg_catalog.regexp_matches(r.ev_action::text, ':relid (\\d+)', 'g') AS m
                   WHERE r.ev_class = c.oid
                 ) x WHERE x.oid <> c.oid::int8), '{}') AS depends_on,
       CASE WHEN c.relkind = 'v' AND n.nspname NOT IN ('pg_catalog', 'information_schema') THEN
         COALESCE((SELECT pg_catalog.array_agg(DISTINCT f.oid::int8) FROM pg_catalog.pg_rewrite r
                   JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
                   LEFT JOIN pg_catalog.pg_operator o ON d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid = d.refobjid
                   JOIN pg_catalog.pg_proc f ON f.oid = CASE WHEN d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass THEN d.refobjid ELSE o.oprcode::pg_catalog.oid END
                   JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace
                   WHERE r.ev_class = c.oid AND fn.nspname NOT IN ('pg_catalog', 'information_schema')), '{}')
       END AS calls
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

/**
 * The columns each sequence numbers: the column that owns it (serial, OWNED BY: deptype 'a'; an
 * identity column: 'i') and every column whose default reads it (pg_attrdef, deptype 'n').
 */
const SEQUENCE_COLUMNS_SQL = `
SELECT d.objid::int8 AS sequence, d.refobjid::int8 AS relation, a.attname AS column
FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
  AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
UNION
SELECT d.refobjid::int8, ad.adrelid::int8, a.attname
FROM pg_catalog.pg_attrdef ad
JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.objid = ad.oid
 AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
JOIN pg_catalog.pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum`;

const COLUMNS_SQL = `
SELECT a.attrelid::int8 AS relid, a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       a.atttypid::int8 AS type_oid, pg_catalog.col_description(a.attrelid, a.attnum) AS comment
FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
ORDER BY a.attrelid, a.attnum`;

/** A type as format_type prints it, qualified whenever it is outside pg_catalog. */
const QUALIFIED_TYPE = (
  oid: string,
): string => `(SELECT CASE WHEN tn.nspname = 'pg_catalog' OR pg_catalog.strpos(pg_catalog.format_type(t.oid, NULL), '.') > 0
   THEN pg_catalog.format_type(t.oid, NULL) ELSE pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.format_type(t.oid, NULL) END
   FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace WHERE t.oid = ${oid})`;

const FUNCTIONS_SQL = `
SELECT p.oid::int8 AS oid, n.nspname AS schema, p.proname AS name, p.pronargdefaults AS defaults, p.provariadic <> 0 AS variadic,
       COALESCE((SELECT pg_catalog.array_agg(${QUALIFIED_TYPE('a.typ')} ORDER BY a.ord)
                 FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) WITH ORDINALITY AS a(typ, ord)), '{}') AS arg_types,
       CASE WHEN p.pronargdefaults > 0 THEN
         COALESCE((SELECT pg_catalog.array_agg(DISTINCT f.oid::int8) FROM pg_catalog.pg_depend d
                   LEFT JOIN pg_catalog.pg_operator o ON d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid = d.refobjid
                   JOIN pg_catalog.pg_proc f ON f.oid = CASE WHEN d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass THEN d.refobjid ELSE o.oprcode::pg_catalog.oid END
                   JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace
                   WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND f.oid <> p.oid
                     AND fn.nspname NOT IN ('pg_catalog', 'information_schema')), '{}')
       END AS default_calls
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

const OPERATORS_SQL = `
SELECT n.nspname AS schema, o.oprname AS symbol, o.oprkind AS kind,
       (SELECT pg_catalog.array_agg(DISTINCT p.oid::int8) FROM pg_catalog.pg_operator x
          JOIN pg_catalog.pg_proc p ON p.oid = x.oprcode JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
         WHERE x.oid IN (o.oid, o.oprcom, o.oprnegate) AND pn.nspname <> 'pg_catalog') AS functions
FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
WHERE n.nspname <> 'pg_catalog'`;

/**
 * Coercions that run a user function: casts whose castfunc is outside pg_catalog, and CHECK
 * constraints of domains that call one. Coercing to a domain also applies what coercing to its base
 * type does, so every domain over such a target is listed as a target too.
 */
const CASTS_SQL = `
WITH RECURSIVE bases(domain, base) AS (
  SELECT t.oid, t.typbasetype FROM pg_catalog.pg_type t WHERE t.typtype = 'd'
  UNION SELECT b.domain, t.typbasetype FROM bases b JOIN pg_catalog.pg_type t ON t.oid = b.base AND t.typtype = 'd'
), coercions(target, function, context) AS (
  SELECT c.casttarget, c.castfunc, c.castcontext::text FROM pg_catalog.pg_cast c WHERE c.castfunc <> 0
  UNION SELECT k.contypid, d.refobjid, 'e' FROM pg_catalog.pg_constraint k
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND d.objid = k.oid
     AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
    WHERE k.contypid <> 0
), reach(target, function, context) AS (
  SELECT target, function, context FROM coercions
  UNION SELECT b.domain, c.function, c.context FROM coercions c JOIN bases b ON b.base = c.target
)
SELECT tn.nspname AS target_schema, t.typname AS target_name, r.function::int8 AS function, r.context
FROM reach r JOIN pg_catalog.pg_proc p ON p.oid = r.function JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
JOIN pg_catalog.pg_type t ON t.oid = r.target JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
WHERE pn.nspname <> 'pg_catalog'`;

/** Names only (about 2,700 functions, 75 operator symbols): enough to tell a name created later. */
const SYSTEM_NAMES_SQL = `
SELECT (SELECT pg_catalog.array_agg(DISTINCT p.proname::text) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('pg_catalog', 'information_schema')) AS functions,
       (SELECT pg_catalog.array_agg(DISTINCT o.oprname::text) FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
        WHERE n.nspname = 'pg_catalog') AS operators`;

/**
 * Stored definitions of the views and materialized views outside the system schemas, with their
 * options and the columns their rule reads. Run under an empty search_path (see loadViews).
 */
const VIEWS_SQL = `
SELECT c.oid::int8 AS oid, pg_catalog.pg_get_viewdef(c.oid) AS definition, COALESCE(c.reloptions, '{}') AS options,
       COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_array(d.refobjid::int8, a.attname::text)) FROM pg_catalog.pg_rewrite r
                 JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
                  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid <> c.oid AND d.refobjsubid > 0
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                 WHERE r.ev_class = c.oid AND r.ev_type = '1'), '[]') AS columns_read
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

/**
 * pg_get_viewdef qualifies a name only where the current search_path would not find it: printed
 * with an empty one (pg_catalog is still searched implicitly), every other name is qualified, as
 * PostgreSQL bound it at creation. The session's own search_path is put back afterwards, also when
 * the client is inside a transaction of its own.
 */
async function loadViews(client: Client): Promise<Map<number, CatalogView>> {
  const saved = (await client.query("SELECT pg_catalog.current_setting('search_path') AS path")).rows[0] as {
    path: string;
  };
  await client.query("SELECT pg_catalog.set_config('search_path', '', false)");
  let rows: Array<{ oid: string; definition: string | null; options: string[]; columns_read: Array<[number, string]> }>;
  try {
    rows = (await client.query(VIEWS_SQL)).rows as typeof rows;
  } finally {
    await client.query('SELECT pg_catalog.set_config($1, $2, false)', ['search_path', saved.path]);
  }
  const views = new Map<number, CatalogView>();
  for (const row of rows) {
    if (row.definition === null) continue;
    const option = (name: string): string | undefined =>
      row.options.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
    const check = option('check_option');
    views.set(Number(row.oid), {
      definition: row.definition,
      securityBarrier: isTrue(option('security_barrier')),
      securityInvoker: isTrue(option('security_invoker')),
      ...(check === 'local' || check === 'cascaded' ? { checkOption: check } : {}),
      columnsRead: row.columns_read.map(([relation, column]) => ({ relation: Number(relation), column })),
    });
  }
  return views;
}

/** A boolean reloption as PostgreSQL accepts it (`true`, `on`, `yes`, `1`, any case). */
function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['true', 'on', 'yes', '1', 't', 'y'].includes(value.toLowerCase());
}

let versions = 0;

async function loadRoutines(client: Client): Promise<CatalogRoutines> {
  // One connection runs one query at a time anyway: awaiting each keeps pg from queueing them.
  const functions = await client.query(FUNCTIONS_SQL);
  const operators = await client.query(OPERATORS_SQL);
  const casts = await client.query(CASTS_SQL);
  const user = await client.query('SELECT CURRENT_USER AS name');
  const system = await client.query(SYSTEM_NAMES_SQL);
  return {
    functions: (
      functions.rows as Array<{
        oid: string;
        schema: string;
        name: string;
        defaults: number;
        variadic: boolean;
        arg_types: string[];
        default_calls: string[] | null;
      }>
    ).map((r) => ({
      oid: Number(r.oid),
      schema: r.schema,
      name: r.name,
      argTypes: r.arg_types,
      variadic: r.variadic,
      defaults: r.defaults,
      ...(r.default_calls && r.default_calls.length > 0 ? { defaultCalls: r.default_calls.map(Number) } : {}),
    })),
    // An operator that can only run pg_catalog functions is no concern (nor a candidate to check).
    operators: (operators.rows as Array<{ schema: string; symbol: string; kind: string; functions: string[] | null }>)
      .filter((r) => r.functions !== null && r.functions.length > 0)
      .map((r) => ({
        schema: r.schema,
        symbol: r.symbol,
        kind: r.kind === 'l' ? 'l' : 'b',
        functions: (r.functions ?? []).map(Number),
      })),
    casts: (casts.rows as Array<{ target_schema: string; target_name: string; function: string; context: string }>).map(
      (r) => ({
        targetSchema: r.target_schema,
        targetName: r.target_name,
        function: Number(r.function),
        context: r.context === 'e' ? 'e' : r.context === 'a' ? 'a' : 'i',
      }),
    ),
    sessionUser: (user.rows[0] as { name: string }).name,
    systemFunctions: (system.rows[0] as { functions: string[] }).functions,
    systemOperators: (system.rows[0] as { operators: string[] }).operators,
  };
}

export async function loadCatalog(client: Client): Promise<CatalogSnapshot> {
  const relations = await client.query(RELATIONS_SQL);
  const columns = await client.query(COLUMNS_SQL);
  const routines = await loadRoutines(client);
  const views = await loadViews(client);
  const numbered = new Map<number, Array<{ relation: number; column: string }>>();
  for (const row of (await client.query(SEQUENCE_COLUMNS_SQL)).rows as Array<{
    sequence: string;
    relation: string;
    column: string;
  }>) {
    numbered.set(Number(row.sequence), [
      ...(numbered.get(Number(row.sequence)) ?? []),
      { relation: Number(row.relation), column: row.column },
    ]);
  }
  const columnsOf = new Map<number, CatalogColumn[]>();
  for (const row of columns.rows as Array<{
    relid: string;
    name: string;
    type: string;
    type_oid: string;
    comment: string | null;
  }>) {
    const list = columnsOf.get(Number(row.relid)) ?? [];
    list.push({
      name: row.name,
      type: row.type,
      typeOid: Number(row.type_oid),
      ...(row.comment ? { comment: row.comment } : {}),
    });
    columnsOf.set(Number(row.relid), list);
  }
  const list: CatalogRelation[] = (
    relations.rows as Array<{
      oid: string;
      schema: string;
      name: string;
      kind: string;
      parents: string[];
      depends_on: string[];
      calls: string[] | null;
    }>
  ).map((r) => ({
    oid: Number(r.oid),
    schema: r.schema,
    name: r.name,
    kind: r.kind as RelationKind,
    columns: columnsOf.get(Number(r.oid)) ?? [],
    parents: r.parents.map(Number),
    dependsOn: r.depends_on.map(Number),
    ...(r.calls && r.calls.length > 0 ? { calls: r.calls.map(Number) } : {}),
    ...(views.has(Number(r.oid)) ? { view: views.get(Number(r.oid)) } : {}),
    ...(r.kind === 'S' ? { numbers: numbered.get(Number(r.oid)) ?? [] } : {}),
  }));
  return createCatalogSnapshot(list, ++versions, routines);
}

const NO_ROUTINES: CatalogRoutines = { functions: [], operators: [], casts: [] };

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const list = map.get(key(item));
    if (list) list.push(item);
    else map.set(key(item), [item]);
  }
  return map;
}

export function createCatalogSnapshot(
  relations: readonly CatalogRelation[],
  version: number,
  routines: CatalogRoutines = NO_ROUTINES,
): CatalogSnapshot {
  const byName = new Map(relations.map((r) => [`${r.schema}\0${r.name}`, r]));
  const byOid = new Map(relations.map((r) => [r.oid, r]));
  // Sequences hold no rows a data product shares: listed by name and oid only.
  const withRows = relations.filter((r) => r.kind !== 'S');
  const functions = groupBy<CatalogFunction>(routines.functions, (f) => f.name);
  const functionOids = new Map(routines.functions.map((f) => [f.oid, f]));
  const operators = groupBy<CatalogOperator>(routines.operators, (o) => o.symbol);
  const casts = groupBy<CatalogCast>(routines.casts, (c) => c.targetName);
  return {
    version,
    relation: (schema, name) => byName.get(`${schema}\0${name}`),
    relationByOid: (oid) => byOid.get(oid),
    all: () => withRows,
    functionsNamed: (name) => functions.get(name) ?? [],
    functionByOid: (oid) => functionOids.get(oid),
    operatorsNamed: (symbol) => operators.get(symbol) ?? [],
    castsTo: (typeName) => casts.get(typeName) ?? [],
    casts: () => routines.casts,
    ...(routines.sessionUser !== undefined ? { sessionUser: routines.sessionUser } : {}),
    ...(routines.systemFunctions && routines.systemOperators
      ? { systemNames: { functions: new Set(routines.systemFunctions), operators: new Set(routines.systemOperators) } }
      : {}),
  };
}
