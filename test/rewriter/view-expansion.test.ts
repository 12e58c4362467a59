/**
 * Views over protected relations, expanded: masks and row filters hold for every use of the view's
 * columns, names inside a view mean what they meant at creation, the function guard reaches the
 * expanded body, and a materialized view is protected by (and checked for) its own tags.
 */
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { analystPolicy, staticPolicy } from '../support/static-policy';
import { VIEW_SQL } from '../support/view-fixtures';
import { FUNCTION_CANARIES_SQL, HIDDEN_CUSTOMER } from '../support/function-canaries';
import { rewrite, untaggedMatviewColumns, type RewriteOutcome } from '../../rewriter';
import { commentTags } from '../../policies/tags';
import type { PolicySnapshot } from '../../policies/decision';

const EXTRA = `
CREATE VIEW public.contact_ssn AS SELECT id, public.leak_ssn(id) AS leaked, ssn FROM public.customers;
CREATE VIEW public.lower_emails AS SELECT id, lower(email) AS email FROM public.customers;
CREATE SCHEMA shadow;
CREATE TABLE shadow.customers AS SELECT * FROM public.customers;
CREATE VIEW public.customer_stats AS SELECT s.attname FROM pg_catalog.pg_stats s JOIN public.customers c ON c.id = 1;
CREATE VIEW public.renamed AS SELECT id, email FROM public.customers;
ALTER VIEW public.renamed RENAME COLUMN email TO contact;
CREATE VIEW public.tagged_names AS SELECT id, name FROM public.customers;
CREATE MATERIALIZED VIEW public.email_copy AS
  SELECT c.id, c.email, pg_catalog.upper(c.name) AS shout, (SELECT max(o.card_number) FROM public.orders o WHERE o.customer_id = c.id) AS card
  FROM public.customers c;
COMMENT ON COLUMN public.email_copy.shout IS 'pgveil:tags=pii.name';
CREATE MATERIALIZED VIEW public.contact_copy AS SELECT customer, mail FROM public.contact_names;
CREATE MATERIALIZED VIEW public.visit_copy AS SELECT v.id, v.visitor_email FROM public.visits_us v;
CREATE MATERIALIZED VIEW public.plain_copy AS SELECT id, region FROM public.customers;
`;

let demo: DemoProduct;
beforeAll(async () => {
  demo = await createDemoProduct('rw_views', FUNCTION_CANARIES_SQL + VIEW_SQL + EXTRA);
  // A chain of views deeper than pgveil expands.
  let sql = 'CREATE VIEW public.deep_0 AS SELECT id, email FROM public.customers;';
  for (let i = 1; i <= 33; i++) sql += `CREATE VIEW public.deep_${i} AS SELECT id, email FROM public.deep_${i - 1};`;
  await demo.client.query(sql);
  await demo.reloadCatalog();
});
afterAll(() => demo.stop());

const allowing = (...allowed: string[]): PolicySnapshot => ({
  ...analystPolicy,
  allowedFunctions: (product) => (product === 'demo' ? allowed : []),
});

function plan(sql: string, policies: PolicySnapshot = analystPolicy, searchPath?: string[]): string {
  const outcome = rewriteWith(sql, policies, searchPath);
  if (outcome.kind !== 'plan') throw new Error(`refused: ${sql}\n-> ${outcome.message}`);
  return outcome.sql;
}

const rewriteWith = (sql: string, policies: PolicySnapshot, searchPath?: string[]): RewriteOutcome =>
  rewrite(sql, demo.context(policies, {}, searchPath));

const run = async (sql: string, policies: PolicySnapshot = analystPolicy, searchPath?: string[]): Promise<unknown[]> =>
  (await demo.client.query(plan(sql, policies, searchPath))).rows;

test('the row filter holds in every clause over a view: WHERE, ORDER BY, GROUP BY, aggregates', async () => {
  expect(await run("SELECT count(*)::int AS n FROM customer_contacts WHERE region <> 'EU'")).toEqual([{ n: 0 }]);
  expect(await run('SELECT region, count(*)::int AS n FROM customer_contacts GROUP BY region')).toEqual([
    { region: 'EU', n: 333 },
  ]);
  expect(await run('SELECT id FROM customer_contacts ORDER BY id LIMIT 2')).toEqual([{ id: 3 }, { id: 6 }]);
  // A condition that fails on a hidden row is never evaluated on one.
  expect(
    await run(
      "SELECT count(*)::int AS n FROM customer_contacts WHERE 1 / (CASE WHEN region = 'US' THEN 0 ELSE 1 END) = 1",
    ),
  ).toEqual([{ n: 333 }]);
  expect(
    await run(
      "SELECT count(*)::int AS n FROM eu_contacts v WHERE 1 / (SELECT CASE WHEN c.region = 'US' THEN 0 ELSE 1 END FROM customer_contacts c WHERE c.id = v.id) = 1",
    ),
  ).toEqual([{ n: 333 }]);
});

test('masked values are what a view shows and what its predicates see', async () => {
  expect(await run('SELECT id, email FROM customer_contacts WHERE id = 3')).toEqual([
    { id: 3, email: 'c********@example.com' },
  ]);
  expect(await run("SELECT count(*)::int AS n FROM customer_contacts WHERE ssn LIKE '%-%'")).toEqual([{ n: 0 }]);
  expect(await run("SELECT count(*)::int AS n FROM contact_names WHERE mail = 'customer3@example.com'")).toEqual([
    { n: 0 },
  ]);
  // Through the self-join: every pair joins on hashed SSNs of visible rows only.
  expect(await run('SELECT count(*)::int AS n FROM shared_ssn WHERE first_id <> second_id')).toEqual([{ n: 0 }]);
  expect(await run('SELECT count(*)::int AS n FROM shared_ssn')).toEqual([{ n: 333 }]);
});

test("a view binds its names at creation: not to the reader's search_path or CTEs", async () => {
  const viaShadow = await run('SELECT email FROM customer_contacts WHERE id = 3', analystPolicy, ['shadow', 'public']);
  expect(viaShadow).toEqual([{ email: 'c********@example.com' }]);
  const sql = plan(
    'WITH customers AS (SELECT 1 AS id) SELECT count(*)::int AS n FROM customer_contacts',
    analystPolicy,
  );
  expect((await demo.client.query(sql)).rows).toEqual([{ n: 333 }]);
  // pg_catalog.lower, as bound when the view was created, not the look-alike public.lower(varchar)
  // that the reader's search_path would make a candidate (and refuse).
  expect(await run('SELECT email FROM lower_emails WHERE id = 3')).toEqual([{ email: 'c********@example.com' }]);
  expect(rewriteWith('SELECT lower(email) FROM customers', analystPolicy)).toMatchObject({
    kind: 'refusal',
    reasons: ['function_not_allowed'],
  });
});

test('the function guard reaches the expanded body: a view calling a function not allowed stays refused', async () => {
  expect(rewriteWith('SELECT ssn FROM contact_ssn', analystPolicy)).toMatchObject({
    kind: 'refusal',
    reasons: ['function_not_allowed'],
    message:
      'relation "public.contact_ssn" calls function "public.leak_ssn(integer)", which is not allowed through pgveil: it runs with the service account\'s rights and is not listed in allowedFunctions of data product "demo"',
  });
  // Allowed by the policy author: it runs (and returns what it returns), the view's own columns masked.
  const rows = await run(`SELECT leaked, ssn FROM contact_ssn WHERE id = 3`, allowing('public.leak_ssn'));
  expect(rows).toHaveLength(1);
  expect((rows[0] as { ssn: string }).ssn).toMatch(/^[0-9a-f]{64}$/);
  expect(
    await run(`SELECT leaked FROM contact_ssn WHERE id = ${HIDDEN_CUSTOMER}`, allowing('public.leak_ssn')),
  ).toEqual([]);
});

test('a view reading a refused catalog is refused', () => {
  expect(rewriteWith('SELECT * FROM customer_stats', analystPolicy)).toMatchObject({
    kind: 'refusal',
    reasons: ['refused_catalog'],
  });
});

test("renamed view columns keep the view's names", async () => {
  expect(await run('SELECT contact FROM renamed WHERE id = 3')).toEqual([{ contact: 'c********@example.com' }]);
});

test("a view's own tags apply on top of what it reads", async () => {
  const policy = staticPolicy({
    ...{
      'public.customers': {
        columns: { email: { kind: 'mask_email' } },
        rows: { kind: 'filter', predicate: { op: 'in', column: 'region', values: ['EU'] } },
      },
    },
    'public.tagged_names': { columns: { name: { kind: 'constant', value: 'REDACTED' } } },
  });
  expect(await run('SELECT id, name FROM tagged_names ORDER BY id LIMIT 1', policy)).toEqual([
    { id: 3, name: 'REDACTED' },
  ]);
  expect(
    await run(
      'SELECT id, name FROM tagged_names ORDER BY id LIMIT 1',
      staticPolicy({ 'public.tagged_names': { columns: { name: { kind: 'constant', value: 'X' } } } }),
    ),
  ).toEqual([{ id: 1, name: 'X' }]);
});

test('views nested deeper than 32 levels are refused; 32 are expanded', async () => {
  expect(rewriteWith('SELECT email FROM deep_33', analystPolicy)).toMatchObject({
    kind: 'refusal',
    sqlstate: '54001',
    reasons: ['view_depth'],
  });
  expect(await run('SELECT email FROM deep_31 WHERE id = 3')).toEqual([{ email: 'c********@example.com' }]);
});

test('a materialized view is protected by its own tags only', async () => {
  const hashed = (await run('SELECT ssn FROM customer_ssn_copy WHERE id = 2')) as Array<{ ssn: string }>;
  expect(hashed[0]!.ssn).toMatch(/^[0-9a-f]{64}$/);
  // Untagged copies are served as stored: the refresh event below is what tells the data owner.
  expect(await run('SELECT email FROM email_copy WHERE id = 2')).toEqual([{ email: 'customer2@example.com' }]);
});

test('untagged materialized view columns computed from tagged ones are found, with their sources', () => {
  const tagsOf = (_: unknown, column: { comment?: string }): string[] => commentTags(column.comment);
  expect(untaggedMatviewColumns(demo.catalog, tagsOf)).toEqual([
    // Through views: every tagged column the views read (the views' own columns carry no tags).
    {
      schema: 'public',
      name: 'contact_copy',
      column: 'customer',
      sources: ['public.customers.email', 'public.customers.ssn'],
    },
    {
      schema: 'public',
      name: 'contact_copy',
      column: 'mail',
      sources: ['public.customers.email', 'public.customers.ssn'],
    },
    // The scalar sub-query's references cannot be resolved: every tagged column the query reads.
    {
      schema: 'public',
      name: 'email_copy',
      column: 'card',
      sources: ['public.customers.email', 'public.orders.card_number'],
    },
    { schema: 'public', name: 'email_copy', column: 'email', sources: ['public.customers.email'] },
    // A partition's column is tagged by its parent's comment.
    { schema: 'public', name: 'visit_copy', column: 'visitor_email', sources: ['public.visits.visitor_email'] },
  ]);
});
