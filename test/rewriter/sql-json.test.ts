/**
 * The SQL/JSON family through the rewrite: printed back exactly (the tree PostgreSQL reads from the
 * printed text is the analyst's), and run on PostgreSQL 17 (the demo's bundled server: the
 * machine's may be older, and JSON_TABLE, JSON_QUERY, JSON_VALUE and JSON_EXISTS need 17) over the
 * demo data with canaries, where masking and the row filter must hold inside every construct.
 */
import type { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { demoSchemaSql } from '../../cli/demo/demo-data';
import { initRewriter, installHelperSchema, loadCatalog, rewrite, type RewriteContext } from '../../rewriter';
import { deparseStatement, parseTree } from '../../rewriter/sql-parser';
import { EMBEDDED_POSTGRES_BIN, startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres';
import { ANALYST } from '../support/rewrite-harness';
import { analystPolicy } from '../support/static-policy';
import { CANARY_SQL, leakedCanaries } from '../adversarial/canaries';
import { customers } from './golden-cases';
import { printedAsRead } from '../support/printed-as-read';

let server: ThrowawayPostgres;
let client: Client;
let context: RewriteContext;

beforeAll(async () => {
  await initRewriter();
  server = await startThrowawayPostgres(26400 + (process.pid % 1000), { binDir: EMBEDDED_POSTGRES_BIN });
  client = server.client();
  await client.connect();
  await client.query(demoSchemaSql + CANARY_SQL);
  // A cast that runs a function no policy allows: SQL/JSON's RETURNING types coerce with casts.
  await client.query(`CREATE TYPE public.ssn_card AS (ssn text);
    CREATE FUNCTION public.to_ssn_card(customer_id integer) RETURNS public.ssn_card LANGUAGE sql STABLE
      AS $$ SELECT ROW(ssn)::public.ssn_card FROM public.customers WHERE id = customer_id $$;
    CREATE CAST (integer AS public.ssn_card) WITH FUNCTION public.to_ssn_card(integer);`);
  const serviceRole = `pgveil_svc_${randomBytes(3).toString('hex')}`;
  await client.query(`CREATE ROLE ${serviceRole} NOLOGIN`);
  await installHelperSchema(client, {
    schema: 'pgveil',
    ownerRole: 'pgveil_owner',
    serviceRole,
    key: Buffer.alloc(32, 7),
  });
  context = {
    principal: ANALYST,
    dataProduct: 'demo',
    searchPath: ['$user', 'public'],
    catalog: await loadCatalog(client),
    policies: analystPolicy,
    helperSchema: 'pgveil',
  };
}, 120_000);

afterAll(async () => {
  await client?.end();
  await server?.remove();
});

const withoutLocations = (sql: string): string =>
  JSON.stringify(
    parseTree(sql).map((s) => s.stmt),
    (key, value: unknown) => (key.endsWith('location') ? undefined : value),
  );

const SQL_JSON = [
  `SELECT * FROM JSON_TABLE(jsonb '[{"a":1,"b":[1]}]', '$[*]' AS p PASSING 1 AS x, 'y' AS "Y" COLUMNS (a int PATH '$.a' DEFAULT 1 ON EMPTY NULL ON ERROR, b text FORMAT JSON PATH '$.b' WITH CONDITIONAL WRAPPER OMIT QUOTES, e bool EXISTS PATH '$.e' ERROR ON ERROR, n FOR ORDINALITY, "Q" jsonb, NESTED PATH '$.b[*]' AS q COLUMNS (y int PATH '$')) EMPTY ON ERROR) AS jt(a2)`,
  `SELECT 1 FROM customers c, LATERAL JSON_TABLE(to_jsonb(c), '$' COLUMNS (s text PATH '$.ssn' WITHOUT WRAPPER KEEP QUOTES, w text FORMAT JSON ENCODING UTF8 PATH '$' WITH UNCONDITIONAL WRAPPER)) j`,
  `SELECT JSON_QUERY(jsonb '{}', '$.a' PASSING 1 + 2 AS x RETURNING text FORMAT JSON WITH WRAPPER KEEP QUOTES ON SCALAR STRING EMPTY ARRAY ON EMPTY EMPTY OBJECT ON ERROR)`,
  `SELECT JSON_EXISTS(jsonb '{}' FORMAT JSON, '$.a ? (@ > $x)' PASSING 0 AS x UNKNOWN ON ERROR), JSON_EXISTS(jsonb '{}', '$')`,
  `SELECT JSON_VALUE(jsonb '{}', '$.' || 'a' RETURNING int DEFAULT 2 * 3 ON EMPTY ERROR ON ERROR), JSON_VALUE(jsonb '{}', '$' RETURNING date)`,
  `SELECT JSON_OBJECT('a': 1, 'b' VALUE 2 ABSENT ON NULL WITH UNIQUE KEYS RETURNING jsonb), JSON_OBJECT(), JSON_ARRAY(1, 2 NULL ON NULL RETURNING jsonb)`,
  `SELECT 'x' IS JSON, 'x' IS NOT JSON OBJECT WITH UNIQUE KEYS, 'x' IS JSON ARRAY, 'x' IS JSON SCALAR, 'x' IS JSON VALUE`,
  `SELECT JSON_ARRAYAGG(id ORDER BY id NULL ON NULL RETURNING jsonb), JSON_OBJECTAGG(name: id ABSENT ON NULL WITH UNIQUE KEYS) FROM (VALUES (1, 'a')) v(id, name)`,
];

test.each(SQL_JSON)('printed back to the same tree: %s', (sql) => {
  const printed = deparseStatement(parseTree(sql)[0]!.stmt);
  expect(withoutLocations(printed)).toBe(withoutLocations(sql));
});

test('the upstream these tests run on is PostgreSQL 17', async () => {
  const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
  expect(rows[0]!.server_version).toMatch(/^17\./);
});

const rewritten = (sql: string): string => {
  const outcome = rewrite(sql, context);
  if (outcome.kind !== 'plan') throw new Error(`refused: ${outcome.message}`);
  return outcome.sql;
};

test('JSON_TABLE over a protected relation reads the derived table: exact rewrite', () => {
  expect(
    printedAsRead(
      rewritten(`SELECT jt.ssn FROM customers c, JSON_TABLE(to_jsonb(c), '$' COLUMNS (ssn text PATH '$.ssn')) AS jt`),
    ),
  ).toBe(
    `SELECT jt.ssn FROM ${customers('c')}, JSON_TABLE((to_jsonb(c)), ('$') COLUMNS ("ssn" text PATH '$.ssn')) AS "jt"`,
  );
  expect(
    printedAsRead(
      rewritten(
        `SELECT JSON_VALUE(to_jsonb(c), '$.phone' RETURNING text DEFAULT 'none' ON EMPTY) FROM customers c WHERE id = 3`,
      ),
    ),
  ).toBe(
    `SELECT JSON_VALUE((to_jsonb(c)), ('$.phone') RETURNING text DEFAULT ('none') ON EMPTY) FROM ${customers('c')} WHERE id = 3`,
  );
});

/** What the analyst sees of customer 3 (EU) through a plain SELECT: the reference for every construct. */
async function analystView(): Promise<{ ssn: string; email: string; phone: string }> {
  const { rows } = await client.query<{ ssn: string; email: string; phone: string }>(
    rewritten('SELECT ssn, email, phone FROM customers WHERE id = 3'),
  );
  return rows[0]!;
}

test.each([
  [
    `SELECT jt.ssn, jt.email, jt.phone FROM customers c, JSON_TABLE(to_jsonb(c), '$' COLUMNS (ssn text PATH '$.ssn', email text PATH '$.email', phone text PATH '$.phone')) AS jt WHERE c.id = 3`,
    'row',
  ],
  [
    `SELECT j.ssn, j.email, j.phone FROM customers c CROSS JOIN LATERAL JSON_TABLE(jsonb_build_array(to_jsonb(c)), '$[*]' COLUMNS (ord FOR ORDINALITY, ssn text PATH '$.ssn', NESTED PATH '$' COLUMNS (email text PATH '$.email', phone text PATH '$.phone'))) j WHERE c.id = 3`,
    'row',
  ],
  [
    `SELECT JSON_VALUE(to_jsonb(c), '$.ssn') AS ssn, JSON_VALUE(to_jsonb(c), '$.email') AS email, JSON_VALUE(to_jsonb(c), '$.phone') AS phone FROM customers c WHERE id = 3`,
    'row',
  ],
  [
    `SELECT JSON_QUERY(to_jsonb(c), '$.ssn' RETURNING text OMIT QUOTES) AS ssn, JSON_QUERY(to_jsonb(c), '$.email' RETURNING text OMIT QUOTES) AS email, JSON_QUERY(to_jsonb(c), '$.phone' RETURNING text OMIT QUOTES) AS phone FROM customers c WHERE id = 3`,
    'row',
  ],
  [
    `SELECT JSON_OBJECT('ssn': ssn, 'email': email, 'phone': phone RETURNING jsonb) ->> 'ssn' AS ssn, email, phone FROM customers WHERE id = 3`,
    'row',
  ],
])('masked values come out of SQL/JSON, never the raw ones: %s', async (sql) => {
  const { rows } = await client.query(rewritten(sql));
  expect(leakedCanaries(JSON.stringify(rows))).toEqual([]);
  expect(rows).toEqual([await analystView()]);
});

test.each([
  `SELECT count(*) FROM customers c WHERE JSON_EXISTS(to_jsonb(c), '$.ssn ? (@ like_regex "^ZQ7")')`,
  `SELECT count(*) FROM customers c WHERE JSON_EXISTS(to_jsonb(c), '$.name ? (@ starts with "ZQ7NAME")')`,
  `SELECT count(*) FROM customers c, JSON_TABLE(to_jsonb(c), '$' COLUMNS (ssn text PATH '$.ssn')) jt WHERE jt.ssn LIKE 'ZQ7%'`,
  `SELECT count(*) FROM customers WHERE (ssn || '') IS JSON OR JSON_VALUE(JSON_OBJECT('s': ssn), '$.s') LIKE 'ZQ7%'`,
  `SELECT count(*) FROM customers c WHERE JSON_VALUE(to_jsonb(c), '$.region') <> 'EU'`,
])('no predicate inside SQL/JSON sees a raw or hidden value: %s', async (sql) => {
  const { rows } = await client.query<{ count: string }>(rewritten(sql));
  expect(rows).toEqual([{ count: '0' }]);
});

test('the canaries are really there upstream, so these tests can fail', async () => {
  const { rows } = await client.query<{ count: string }>(
    `SELECT count(*) FROM customers c WHERE JSON_EXISTS(to_jsonb(c), '$.ssn ? (@ like_regex "^ZQ7")')`,
  );
  expect(rows).toEqual([{ count: '3' }]);
});

// PostgreSQL's grammar raises this one (0A000); pgveil's copy of the grammar raises it while parsing,
// and every parse failure is refused as 42601, with PostgreSQL's own message.
test('what PostgreSQL refuses in SQL/JSON is refused with its message', async () => {
  const sql = `SELECT * FROM JSON_TABLE(jsonb '{}', '$' || '' COLUMNS (a int PATH '$'))`;
  const upstream = await client.query(sql).then(
    () => undefined,
    (e: { code: string; message: string }) => ({ code: e.code, message: e.message }),
  );
  expect(upstream).toEqual({
    code: '0A000',
    message: 'only string constants are supported in JSON_TABLE path specification',
  });
  expect(rewrite(sql, context)).toMatchObject({
    kind: 'refusal',
    sqlstate: '42601',
    message: 'statement could not be parsed: only string constants are supported in JSON_TABLE path specification',
  });
});

test.each([
  `SELECT JSON_VALUE(jsonb '3', '$' RETURNING ssn_card)`,
  `SELECT JSON_QUERY(jsonb '3', '$' RETURNING public.ssn_card)`,
  `SELECT * FROM JSON_TABLE(jsonb '3', '$' COLUMNS (c ssn_card PATH '$'))`,
  `SELECT JSON_OBJECT('a': 1 RETURNING ssn_card)`,
  `SELECT JSON_ARRAYAGG(id RETURNING ssn_card) FROM orders`,
])('a RETURNING or column type is checked like a cast: %s', (sql) => {
  expect(rewrite(sql, context)).toMatchObject({
    kind: 'refusal',
    sqlstate: '42501',
    message: expect.stringContaining('cast to "public.ssn_card" runs function "public.to_ssn_card(integer)"'),
  });
});
