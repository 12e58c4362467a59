/**
 * Functions, operators, casts and views outside the system schemas: refused unless the data product's
 * allowedFunctions lists them, wherever they appear, and look-alikes on the search_path refused.
 */
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { analystPolicy } from '../support/static-policy';
import { FUNCTION_CANARIES_SQL, HIDDEN_CUSTOMER, HIDDEN_SSN } from '../support/function-canaries';
import { printedAsRead } from '../support/printed-as-read';
import { createCatalogSnapshot, rewrite, type RewriteOutcome } from '../../rewriter';
import type { PolicySnapshot } from '../../policies/decision';
import { createPolicySnapshot } from '../../policies';
import { TagTaxonomy } from '../../policies/tag-taxonomy';

let demo: DemoProduct;
beforeAll(async () => {
  demo = await createDemoProduct('rw_functions', FUNCTION_CANARIES_SQL);
});
afterAll(() => demo.stop());

const allowing = (...allowed: string[]): PolicySnapshot => ({
  ...analystPolicy,
  allowedFunctions: (product) => (product === 'demo' ? allowed : []),
});

function refusal(
  sql: string,
  policies: PolicySnapshot = analystPolicy,
  searchPath?: string[],
): { sqlstate: string; message: string; reasons: readonly string[] } {
  const outcome: RewriteOutcome = rewrite(sql, demo.context(policies, {}, searchPath));
  if (outcome.kind !== 'refusal') throw new Error(`not refused: ${sql}\n-> ${outcome.sql}`);
  return outcome;
}

function plan(sql: string, policies: PolicySnapshot = analystPolicy, searchPath?: string[]): string {
  const outcome = rewrite(sql, demo.context(policies, {}, searchPath));
  if (outcome.kind !== 'plan') throw new Error(`refused: ${sql}\n-> ${outcome.message}`);
  return outcome.sql;
}

const LEAK_SSN =
  'function "public.leak_ssn" is not allowed through pgveil: it runs with the service account\'s rights and is not listed in allowedFunctions of data product "demo"';

test('the canary leaks when called directly upstream: the guard has something to stop', async () => {
  const { rows } = await demo.client.query('SELECT public.leak_ssn($1) AS ssn', [HIDDEN_CUSTOMER]);
  expect(rows).toEqual([{ ssn: HIDDEN_SSN }]);
});

describe.each([
  ['select list', `SELECT public.leak_ssn(${HIDDEN_CUSTOMER})`],
  ['select list, unqualified', `SELECT leak_ssn(${HIDDEN_CUSTOMER})`],
  ['FROM', 'SELECT * FROM public.leak_ssns()'],
  ['FROM, ROWS FROM', 'SELECT * FROM ROWS FROM (leak_ssns()) AS t(s)'],
  ['WHERE', `SELECT id FROM customers WHERE leak_ssn(${HIDDEN_CUSTOMER}) LIKE '8%'`],
  ['ORDER BY', 'SELECT id FROM customers ORDER BY leak_ssn(id)'],
  ['GROUP BY', 'SELECT count(*) FROM notes GROUP BY leak_ssn(id)'],
  ['a sub-query', 'SELECT (SELECT leak_ssn(n.id)) FROM notes n'],
  ['a CTE', 'WITH t AS (SELECT leak_ssn(2) AS s) SELECT s FROM t'],
  ['a join condition', 'SELECT 1 FROM notes a JOIN notes b ON leak_ssn(a.id) = b.body'],
  ['a lateral function', 'SELECT s FROM notes, LATERAL leak_ssns() AS s'],
  ['an aggregate argument', "SELECT string_agg(leak_ssn(id), ',') FROM notes"],
  ['a window', 'SELECT row_number() OVER (ORDER BY leak_ssn(id)) FROM notes'],
  ['an aggregate ORDER BY', "SELECT string_agg(body, ',' ORDER BY leak_ssn(id)) FROM notes"],
  ['functional notation', 'SELECT n.leak_ssn FROM (SELECT 2 AS id) AS n'],
  ['functional notation on an expression', 'SELECT (2).leak_ssn'],
  ['a cursor', 'DECLARE c CURSOR FOR SELECT leak_ssn(2)'],
  ['a prepared statement', 'PREPARE p AS SELECT leak_ssn($1)'],
  ['COPY', 'COPY (SELECT leak_ssn(2)) TO STDOUT'],
  ['EXPLAIN', 'EXPLAIN SELECT leak_ssn(2)'],
])('a function not allowed, in %s', (_where, sql) => {
  test('is refused with 42501', () => {
    const refused = refusal(sql);
    expect(refused.sqlstate).toBe('42501');
    expect(refused.reasons).toEqual(['function_not_allowed']);
    expect(refused.message).toContain('function "public.leak_ssn');
    expect(refused.message).toContain('is not listed in allowedFunctions of data product "demo"');
  });
});

test('the message names the function, the rule and the data product', () => {
  expect(refusal('SELECT public.leak_ssn(2)').message).toBe(LEAK_SSN);
  expect(refusal('SELECT leak_ssn(2)').message).toBe(
    'function "public.leak_ssn" (a candidate for "leak_ssn" on the search_path) is not allowed through pgveil: it runs with the service account\'s rights and is not listed in allowedFunctions of data product "demo"',
  );
});

test('an ordered-set aggregate counts its WITHIN GROUP arguments', () => {
  expect(refusal('SELECT percentile_ssn(0.5) WITHIN GROUP (ORDER BY id) FROM notes').message).toContain(
    'function "public.percentile_ssn" (a candidate for "percentile_ssn" on the search_path) is not allowed',
  );
  expect(plan('SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY id) FROM notes')).toBe(
    'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY id) FROM public.notes',
  );
});

test('EXECUTE parameters are checked too', () => {
  expect(refusal('EXECUTE p(leak_ssn(2))').reasons).toEqual(['function_not_allowed']);
});

test('a TABLESAMPLE method is a handler function looked up by name', () => {
  expect(refusal('SELECT * FROM notes TABLESAMPLE public.leak_ssn (10)').message).toContain(
    'function "public.leak_ssn" is not allowed',
  );
  expect(plan('SELECT * FROM notes TABLESAMPLE SYSTEM (10)')).toBe(
    'SELECT * FROM public.notes TABLESAMPLE system (10)',
  );
});

test('an operator backed by a user function is refused, also spelled OPERATOR(schema.op) or in ORDER BY ... USING', () => {
  expect(refusal("SELECT 1 FROM notes WHERE body === 'x'").message).toBe(
    'operator "public.===" runs function "public.leak_match(text, text)", which is not allowed through pgveil: it runs with the service account\'s rights and is not listed in allowedFunctions of data product "demo"',
  );
  expect(refusal("SELECT 1 FROM notes WHERE body OPERATOR(public.===) 'x'").reasons).toEqual(['function_not_allowed']);
  expect(refusal('SELECT body FROM notes ORDER BY body USING ===').reasons).toEqual(['function_not_allowed']);
  // NOT (a =/= b) may be planned as a === b: the negator's function must be allowed as well.
  expect(plan("SELECT 'a' =/= 'b'", allowing('public.harmless_ne', 'public.leak_match'))).toBe("SELECT 'a' =/= 'b'");
  expect(refusal("SELECT 1 FROM notes WHERE NOT (body =/= 'x')", allowing('public.harmless_ne')).message).toContain(
    'operator "public.=/=" runs function "public.leak_match(text, text)", which is not allowed through pgveil',
  );
  expect(refusal("SELECT 'a' OPERATOR(lookalike.=) 'b'").message).toContain(
    'operator "lookalike.=" runs function "public.leak_varchar_eq',
  );
  expect(refusal("SELECT 'a' OPERATOR(nowhere.=) 'b'").message).toContain(
    'operator "nowhere.=" is not allowed through pgveil',
  );
});

test('a look-alike operator on the search_path is refused where PostgreSQL would look up "=" by name', () => {
  const path = ['lookalike', 'public'];
  for (const sql of [
    "SELECT 1 FROM notes WHERE body = 'x'",
    "SELECT 1 FROM notes WHERE body IN ('x', 'y')",
    "SELECT 1 FROM notes WHERE body IS DISTINCT FROM 'x'",
    "SELECT NULLIF(body, 'x') FROM notes",
    "SELECT CASE body WHEN 'x' THEN 1 END FROM notes",
    'SELECT 1 FROM notes a JOIN notes b USING (id)',
    'SELECT 1 FROM notes a NATURAL JOIN notes b',
    'SELECT 1 FROM notes WHERE body IN (SELECT body FROM notes)',
    'SELECT 1 FROM notes WHERE body = ANY (SELECT body FROM notes)',
  ]) {
    expect({ sql, message: refusal(sql, analystPolicy, path).message }).toEqual({
      sql,
      message: expect.stringContaining('operator "lookalike.="'),
    });
  }
  // Off the search_path it cannot be chosen, and pg_catalog's "=" is not a user function.
  expect(plan("SELECT 1 FROM notes WHERE body = 'x'")).toBe("SELECT 1 FROM public.notes WHERE body = 'x'");
  expect(plan("SELECT 1 FROM notes WHERE body OPERATOR(pg_catalog.=) 'x'", analystPolicy, path)).toContain(
    'OPERATOR(pg_catalog.=)',
  );
});

test('a cast backed by a user function is refused, in every spelling', () => {
  const message =
    'cast to "public.ssn_card" runs function "public.to_ssn_card(integer)", which is not allowed through pgveil: it runs with the service account\'s rights and is not listed in allowedFunctions of data product "demo"';
  expect(refusal('SELECT 2::ssn_card').message).toBe(message);
  expect(refusal('SELECT CAST(2 AS public.ssn_card)').message).toBe(message);
  expect(refusal('SELECT ARRAY[2]::ssn_card[]').message).toBe(message);
  expect(refusal("SELECT '{2}'::int[]::_ssn_card").message).toBe(message);
  expect(refusal('SELECT ssn_card(2)').message).toBe(message);
  expect(refusal('SELECT id FROM notes ORDER BY id::ssn_card').message).toBe(message);
  // A domain's CHECK calls a function on every coercion into it, and into a domain over it.
  expect(refusal("SELECT 'x'::checked_text").message).toContain(
    'cast to "public.checked_text" runs function "public.leak_match(text, text)"',
  );
  expect(refusal("SELECT CAST('x' AS checked_text_too)").message).toContain(
    'cast to "public.checked_text_too" runs function "public.leak_match(text, text)"',
  );
});

test('a view that calls a user function is refused, also through a view over it', () => {
  expect(refusal('SELECT ssn FROM leaky_notes').message).toBe(
    'relation "public.leaky_notes" calls function "public.leak_ssn(integer)", which is not allowed through pgveil: it runs with the service account\'s rights and is not listed in allowedFunctions of data product "demo"',
  );
  expect(refusal('SELECT id FROM leaky_notes_again').message).toContain(
    'relation "public.leaky_notes" calls function "public.leak_ssn(integer)"',
  );
  expect(plan('SELECT body FROM plain_notes')).toBe('SELECT body FROM public.plain_notes');
});

test('look-alikes of pg_catalog functions on the search_path are refused; qualified pg_catalog calls are not', () => {
  expect(refusal('SELECT lower(body) FROM notes').message).toBe(
    'function "public.lower" (a candidate for "lower" on the search_path) is not allowed through pgveil: it runs with the service account\'s rights and is not listed in allowedFunctions of data product "demo"',
  );
  expect(refusal('SELECT lower(body) FROM notes', analystPolicy, ['other_schema', 'public']).message).toContain(
    'function "other_schema.lower"',
  );
  expect(
    refusal('SELECT lower(body) FROM notes', allowing('public.lower'), ['public', 'other_schema']).message,
  ).toContain('function "other_schema.lower"');
  expect(refusal('SELECT other_schema.lower(body) FROM notes').message).toContain(
    'function "other_schema.lower" is not allowed',
  );
  // Allowing one overload by its argument types allows exactly that one.
  expect(plan('SELECT lower(body) FROM notes', allowing('public.lower(varchar)'))).toBe(
    'SELECT lower(body) FROM public.notes',
  );
  expect(refusal('SELECT lower(body) FROM notes', allowing('public.lower(text)')).reasons).toEqual([
    'function_not_allowed',
  ]);
  expect(plan('SELECT pg_catalog.lower(body) FROM notes')).toBe('SELECT pg_catalog.lower(body) FROM public.notes');
});

test('pg_catalog and information_schema functions, operators and casts stay usable', async () => {
  const sql = plan(
    "SELECT upper(body), length(body), count(*) OVER (), now() IS NOT NULL AS t, (information_schema._pg_expandarray(ARRAY[7])).x, id::text || '!' AS bang, body ~~ 'o%' AS o " +
      'FROM notes WHERE id BETWEEN 1 AND 2 ORDER BY id',
  );
  const { rows } = await demo.client.query(sql);
  expect(rows).toEqual([
    { upper: 'ONE', length: 3, count: '2', t: true, x: 7, bang: '1!', o: true },
    { upper: 'TWO', length: 3, count: '2', t: true, x: 7, bang: '2!', o: false },
  ]);
});

test('a function listed in allowedFunctions runs, every overload or the one named', async () => {
  expect(refusal('SELECT safe_double(21)').reasons).toEqual(['function_not_allowed']);
  for (const entry of [
    'public.safe_double',
    'public.safe_double(integer)',
    'public.safe_double(int4)',
    'public.safe_double( INT )',
  ]) {
    const sql = plan('SELECT safe_double(21) AS v', allowing(entry));
    expect((await demo.client.query(sql)).rows).toEqual([{ v: 42 }]);
  }
  expect(refusal('SELECT safe_double(21)', allowing('public.safe_double(bigint)')).reasons).toEqual([
    'function_not_allowed',
  ]);
  expect(refusal('SELECT public.safe_double(21)', allowing('other_schema.safe_double')).reasons).toEqual([
    'function_not_allowed',
  ]);
  // Allowed for one data product only.
  const other: PolicySnapshot = {
    ...analystPolicy,
    allowedFunctions: (product) => (product === 'elsewhere' ? ['public.safe_double'] : []),
  };
  expect(refusal('SELECT safe_double(21)', other).reasons).toEqual(['function_not_allowed']);
  // Operators, casts and views follow the function behind them.
  expect(plan("SELECT 'a' === 'b'", allowing('public.leak_match', 'public.harmless_ne'))).toBe("SELECT 'a' === 'b'");
  expect(printedAsRead(plan('SELECT 2::ssn_card', allowing('public.to_ssn_card(integer)')))).toBe(
    'SELECT CAST(2 AS ssn_card)',
  );
  expect(plan('SELECT ssn FROM leaky_notes', allowing('public.leak_ssn'))).toBe('SELECT ssn FROM public.leaky_notes');
});

test('an allowed function whose argument default calls one not allowed runs only with every argument given', async () => {
  const echo = allowing('public.echo');
  expect((await demo.client.query(plan("SELECT echo('given') AS v", echo))).rows).toEqual([{ v: 'given' }]);
  expect(refusal('SELECT echo()', echo).message).toBe(
    'function "public.echo" called without all its arguments runs function "public.leak_ssn(integer)" in its argument defaults, which is not allowed through pgveil: it runs with the service account\'s rights and is not listed in allowedFunctions of data product "demo"',
  );
  expect(refusal('SELECT public.echo()', echo).reasons).toEqual(['function_not_allowed']);
  expect(plan('SELECT echo()', allowing('public.echo', 'public.leak_ssn'))).toBe('SELECT echo()');
});

test('a function or operator created after the catalog snapshot is refused: pgveil cannot tell what it runs', async () => {
  await demo.client
    .query(`CREATE FUNCTION public.late_leak() RETURNS text LANGUAGE sql AS $$ SELECT ssn FROM public.customers WHERE id = 2 $$;
    CREATE OPERATOR public.==== (LEFTARG = text, RIGHTARG = text, FUNCTION = public.leak_match)`);
  try {
    expect(rewrite('SELECT late_leak()', demo.context(analystPolicy))).toMatchObject({
      kind: 'refusal',
      sqlstate: '42883',
      reasons: ['unknown_function'],
      message:
        'function "late_leak" is not in pgveil\'s catalog snapshot of data product "demo": pgveil cannot tell what it would run',
    });
    expect(refusal("SELECT 'a' ==== 'b'").message).toBe(
      'operator "====" is not in pgveil\'s catalog snapshot of data product "demo": pgveil cannot tell what it would run',
    );
    expect(refusal('SELECT public.late_leak()').reasons).toEqual(['function_not_allowed']);
  } finally {
    await demo.client.query('DROP OPERATOR public.==== (text, text); DROP FUNCTION public.late_leak()');
  }
});

test('the policy engine hands allowedFunctions of the data product to the guard', () => {
  const policies = createPolicySnapshot(
    {
      dataProducts: [
        {
          name: 'demo',
          domain: 'sales',
          upstream: { host: 'h', port: 5432, database: 'd', user: 'u' },
          allowedFunctions: ['public.safe_double'],
        },
        { name: 'other', domain: 'sales', upstream: { host: 'h', port: 5432, database: 'd', user: 'u' } },
      ],
      globalPolicies: [],
      domainPolicies: [],
      subscriptions: [{ dataProduct: 'demo', groups: ['analysts'] }],
      taxonomy: new TagTaxonomy(new Set()),
    },
    'v1',
  );
  expect(policies.allowedFunctions?.('demo')).toEqual(['public.safe_double']);
  expect(policies.allowedFunctions?.('other')).toEqual([]);
  expect(plan('SELECT safe_double(1)', policies)).toBe('SELECT safe_double(1)');
  expect(refusal('SELECT leak_ssn(1)', policies).reasons).toEqual(['function_not_allowed']);
});

test('the helper schema stays reserved, even when a policy lists it', () => {
  expect(refusal("SELECT pgveil.keyed_hash('x')", allowing('pgveil.keyed_hash')).reasons).toEqual(['helper_schema']);
  expect(refusal("SELECT keyed_hash('x')", allowing('pgveil.keyed_hash'), ['pgveil', 'public']).message).toContain(
    'function "pgveil.keyed_hash" (a candidate for "keyed_hash" on the search_path) is not allowed through pgveil: the helper schema is reserved for pgveil\'s rewrite',
  );
});

test('an implicit cast that runs a function not allowed refuses every query, until it is allowed', () => {
  const leak = demo.catalog.functionsNamed('leak_match')[0]!;
  const catalog = createCatalogSnapshot(demo.catalog.all(), 1_000_000, {
    functions: [leak],
    operators: [],
    casts: [{ targetSchema: 'pg_catalog', targetName: 'text', function: leak.oid, context: 'i' }],
  });
  const context = { ...demo.context(analystPolicy), catalog };
  const outcome = rewrite('SELECT 1', context);
  expect(outcome).toMatchObject({ kind: 'refusal', sqlstate: '42501', reasons: ['function_not_allowed'] });
  expect((outcome as { message: string }).message).toBe(
    'implicit cast to "pg_catalog.text" runs function "public.leak_match(text, text)" wherever PostgreSQL applies it, so no query is allowed through pgveil: it runs with the service account\'s rights and is not listed in allowedFunctions of data product "demo"',
  );
  expect(rewrite('SET search_path TO public', context).kind).toBe('plan');
  expect(rewrite('SELECT 1', { ...context, policies: allowing('public.leak_match') }).kind).toBe('plan');
});

test('the catalog snapshot holds the planted functions with their argument types, defaults and variadic flag', async () => {
  await demo.client.query(
    `CREATE FUNCTION public.many(a int, b text DEFAULT 'x', VARIADIC c numeric[] DEFAULT '{}') RETURNS int LANGUAGE sql AS 'SELECT 1'`,
  );
  await demo.reloadCatalog();
  expect(
    demo.catalog
      .functionsNamed('many')
      .map(({ schema, name, argTypes, variadic, defaults }) => ({ schema, name, argTypes, variadic, defaults })),
  ).toEqual([
    { schema: 'public', name: 'many', argTypes: ['integer', 'text', 'numeric[]'], variadic: true, defaults: 2 },
  ]);
  expect(demo.catalog.functionsNamed('to_ssn_card')[0]!.argTypes).toEqual(['integer']);
  expect(demo.catalog.operatorsNamed('===').map((o) => [o.schema, o.kind, o.functions])).toEqual([
    [
      'public',
      'b',
      [demo.catalog.functionsNamed('leak_match')[0]!.oid, demo.catalog.functionsNamed('harmless_ne')[0]!.oid].sort(
        (a, b) => a - b,
      ),
    ],
  ]);
  expect(demo.catalog.castsTo('ssn_card').map((c) => [c.targetSchema, c.context])).toEqual([['public', 'e']]);
  expect(demo.catalog.relation('public', 'leaky_notes')!.calls).toEqual([
    demo.catalog.functionsNamed('leak_ssn')[0]!.oid,
  ]);
  // Every argument count a call could bind with: 1 (b and c defaulted), 2, 3, and more (variadic).
  for (const args of ['1', "1, 'y'", "1, 'y', 2", "1, 'y', 2, 3"]) {
    expect(refusal(`SELECT many(${args})`).reasons).toEqual(['function_not_allowed']);
  }
  // A user function whose argument count cannot fit is no candidate: pg_catalog's lower(anymultirange)
  // and friends stay usable.
  expect(plan("SELECT pg_catalog.upper('a')")).toBe("SELECT pg_catalog.upper('a')");
  await demo.client.query('DROP FUNCTION public.many(int, text, numeric[])');
  await demo.reloadCatalog();
});
