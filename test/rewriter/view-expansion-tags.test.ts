/**
 * A tag on a view's column and a tag on the base column it shows: the base's rule applies inside
 * the expansion, and the view's tag does not transform again a value already transformed by the
 * same action or a more restrictive one (a hash hashed twice would no longer join with the base's
 * hash). A view tag stricter than what reached its column applies to the value the view shows.
 * docs/policies.md, "Views and materialized views".
 */
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { printedAsRead } from '../support/printed-as-read';
import { staticPolicy } from '../support/static-policy';
import { CANARY_SQL, leakedCanaries } from '../adversarial/canaries';
import { rewrite } from '../../rewriter';
import type { PolicySnapshot } from '../../policies/decision';

const VIEWS = `
CREATE VIEW public.tagged_contacts AS SELECT c.id, c.ssn, c.email, c.name, c.phone FROM public.customers c;
CREATE VIEW public.tagged_again AS SELECT t.id, t.ssn FROM public.tagged_contacts t;
CREATE VIEW public.computed_ssn AS SELECT c.id, pg_catalog.upper(c.ssn) AS ssn FROM public.customers c;
`;

// The analyst's policy, plus tags on the views' columns as their comments would carry them.
const policy: PolicySnapshot = (() => {
  const base = {
    columns: {
      email: { kind: 'mask_email' as const },
      ssn: { kind: 'hash' as const },
      phone: { kind: 'mask' as const, keepFirst: 0, keepLast: 4, maskChar: '*' },
    },
    rows: { kind: 'filter' as const, predicate: { op: 'in' as const, column: 'region', values: ['EU'] } },
  };
  return staticPolicy({
    'public.customers': base,
    'public.tagged_contacts': {
      columns: {
        ssn: { kind: 'hash' }, // the base's action: not applied again
        email: { kind: 'null' }, // stricter than the base's mask: applies
        name: { kind: 'mask', keepFirst: 1, keepLast: 0, maskChar: '*' }, // the base shows names raw: applies
        phone: { kind: 'mask', keepFirst: 0, keepLast: 0, maskChar: '#' }, // as strict as the base's mask, but another: applies on top
      },
    },
    'public.tagged_again': { columns: { ssn: { kind: 'mask', keepFirst: 0, keepLast: 0, maskChar: '*' } } }, // less strict than the hash below it
    'public.computed_ssn': { columns: { ssn: { kind: 'hash' } } },
  });
})();

let demo: DemoProduct;
beforeAll(async () => {
  demo = await createDemoProduct('rw_view_tags', CANARY_SQL + VIEWS);
});
afterAll(() => demo.stop());

function plan(sql: string): string {
  const outcome = rewrite(sql, demo.context(policy));
  if (outcome.kind !== 'plan') throw new Error(`refused: ${sql}\n-> ${outcome.message}`);
  return outcome.sql;
}
const run = async (sql: string): Promise<Array<Record<string, unknown>>> =>
  (await demo.client.query(plan(sql))).rows as Array<Record<string, unknown>>;

// Golden: the view's derived table passes ssn through (`ssn AS ssn`); the hash is the base's, once.
const MASK_EMAIL =
  "CASE WHEN email IS NULL THEN NULL ELSE CASE WHEN pg_catalog.strpos(email::text, '@') OPERATOR(pg_catalog.<=) 1 THEN pg_catalog.repeat('*', pg_catalog.length(email::text)) ELSE pg_catalog.concat(pg_catalog.left(email::text, 1), pg_catalog.repeat('*', pg_catalog.strpos(email::text, '@') OPERATOR(pg_catalog.-) 2), pg_catalog.substr(email::text, pg_catalog.strpos(email::text, '@'))) END END";
const mask = (column: string, first: number, last: number, char: string): string =>
  `CASE WHEN ${column} IS NULL THEN NULL ELSE CASE WHEN pg_catalog.length(${column}::text) OPERATOR(pg_catalog.<=) ${first + last} THEN pg_catalog.repeat('${char}', pg_catalog.length(${column}::text)) ELSE pg_catalog.concat(pg_catalog.left(${column}::text, ${first}), pg_catalog.repeat('${char}', pg_catalog.length(${column}::text) OPERATOR(pg_catalog.-) ${first + last}), pg_catalog.right(${column}::text, ${last})) END END`;
const BASE =
  `( SELECT id AS id, name AS name, ${MASK_EMAIL} AS email, CASE WHEN ssn IS NULL THEN NULL ELSE pgveil.keyed_hash(ssn::text) END AS ssn, ${mask('phone', 0, 4, '*')} AS phone ` +
  "FROM public.customers WHERE region OPERATOR(pg_catalog.=) ANY (ARRAY['EU']) ) AS c";

test("golden: the view tag with the base column's own action is not applied again; stricter or other ones are", () => {
  expect(printedAsRead(plan('SELECT ssn FROM tagged_contacts'))).toBe(
    `SELECT ssn FROM ( SELECT id AS id, ssn AS ssn, NULL::text AS email, ${mask('name', 1, 0, '*')} AS name, ${mask('phone', 0, 0, '#')} AS phone ` +
      `FROM ( SELECT c.id, c.ssn, c.email, c.name, c.phone FROM ${BASE} ) AS tagged_contacts(id, ssn, email, name, phone) ) AS tagged_contacts`,
  );
});

test("the view's hash equals the base's hash: it joins, for every visible row", async () => {
  expect(
    await run(
      'SELECT count(*)::int AS n, count(*) FILTER (WHERE t.ssn = c.ssn)::int AS equal FROM tagged_contacts t JOIN customers c ON c.id = t.id',
    ),
  ).toEqual([{ n: 333, equal: 333 }]);
  const [row] = await run('SELECT ssn FROM tagged_contacts WHERE id = 3');
  expect(row!.ssn).toMatch(/^[0-9a-f]{64}$/);
  // Two views deep, with a looser tag (a mask) over the hash: still the base's hash, unmasked.
  expect(
    await run(
      'SELECT count(*) FILTER (WHERE a.ssn = c.ssn)::int AS equal FROM tagged_again a JOIN customers c ON c.id = a.id',
    ),
  ).toEqual([{ equal: 333 }]);
});

test('stricter and different view tags apply on what the view shows; no canary anywhere', async () => {
  const rows = await run('SELECT id, ssn, email, name, phone FROM tagged_contacts ORDER BY id');
  expect(rows).toHaveLength(333);
  expect(rows[0]).toEqual({
    id: 3,
    ssn: expect.stringMatching(/^[0-9a-f]{64}$/),
    email: null,
    name: expect.stringMatching(/^[A-Z]\*+$/),
    phone: '#################',
  });
  expect(leakedCanaries(JSON.stringify(rows))).toEqual([]);
});

test("a view tag on a value the view computes applies to that value (upper() of the base's hash, hashed)", async () => {
  const [computed] = await run('SELECT ssn FROM computed_ssn WHERE id = 3');
  const [base] = await run('SELECT upper(ssn) AS ssn FROM customers WHERE id = 3');
  expect(computed!.ssn).toMatch(/^[0-9a-f]{64}$/);
  expect(computed!.ssn).not.toBe(base!.ssn);
  const [expected] = (await demo.client.query('SELECT pgveil.keyed_hash($1) AS h', [base!.ssn])).rows as Array<{
    h: string;
  }>;
  expect(computed!.ssn).toBe(expected!.h);
});

test("without the base's analyst policy, the view tags mask raw values (the steward reading a tagged view)", async () => {
  const viewOnly = staticPolicy({ 'public.tagged_contacts': { columns: { ssn: { kind: 'hash' } } } });
  const outcome = rewrite('SELECT ssn FROM tagged_contacts WHERE id = 3', demo.context(viewOnly));
  if (outcome.kind !== 'plan') throw new Error(outcome.message);
  const [row] = (await demo.client.query(outcome.sql)).rows as Array<{ ssn: string }>;
  const [expected] = (await demo.client.query("SELECT pgveil.keyed_hash('ZQ7SSN-EU-991') AS h")).rows as Array<{
    h: string;
  }>;
  expect(row!.ssn).toBe(expected!.h);
});
