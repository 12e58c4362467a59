/**
 * Tags and rules on partitions (rewriter/partition-decisions.ts): PostgreSQL reads a partitioned
 * table's rows from its partitions, so what protects a partition protects its rows read through the
 * parent; and a partition read directly is protected by its own tags and rules and its parents'.
 * Real policy engine, tags in column comments of the partitions, planted canaries.
 */
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { printedAsRead } from '../support/printed-as-read';
import { rewrite, type RewriteOutcome } from '../../rewriter';
import { buildPolicyBundle } from '../../policies/policy-loader';
import type { PolicySnapshot } from '../../policies/decision';

const TREE = `
CREATE TABLE public.events (id integer NOT NULL, region text NOT NULL, contact text, note text, shown boolean NOT NULL) PARTITION BY LIST (region);
CREATE TABLE public.events_eu PARTITION OF public.events FOR VALUES IN ('EU');
CREATE TABLE public.events_us PARTITION OF public.events FOR VALUES IN ('US');
CREATE TABLE public.events_apac PARTITION OF public.events FOR VALUES IN ('APAC') PARTITION BY RANGE (id);
CREATE TABLE public.events_apac_low PARTITION OF public.events_apac FOR VALUES FROM (MINVALUE) TO (1000);
COMMENT ON COLUMN public.events.contact IS 'pgveil:tags=pii.email';
COMMENT ON COLUMN public.events_us.note IS 'pgveil:tags=pii.ssn';
COMMENT ON COLUMN public.events_apac_low.note IS 'pgveil:tags=pii.email';
INSERT INTO public.events VALUES
  (1, 'EU', 'eu.one@example.com', 'eu note', true),
  (2, 'US', 'us.two@example.com', 'ZQ7NOTE-US-SHOWN', true),
  (3, 'US', 'zq7canary.hidden@example.com', 'ZQ7NOTE-US-HIDDEN', false),
  (4, 'APAC', 'apac.four@example.com', 'zq7apac.note@example.com', true);
`;

const policyYaml = `
tags: [pii.email, pii.ssn]
dataProducts:
  - name: demo
    domain: sales
    upstream: { host: 127.0.0.1, port: 5432, database: demo, user: svc }
globalPolicies:
  - id: mask-pii
    columns:
      - tags: [pii.email]
        action: { kind: mask_email }
      - tags: [pii.ssn]
        action: { kind: hash }
  - id: us-shown-only
    tables: [public.events_us]
    rows: { column: shown, equals: true }
  - id: no-apac-for-contractors
    tables: [public.events_apac_low]
    when: { group: contractors }
    rows: { deny: true }
subscriptions:
  - dataProduct: demo
    groups: [analysts, contractors]
`;

const policies: PolicySnapshot = buildPolicyBundle([
  { path: '/partition-tags/policies.yaml', text: policyYaml },
]).snapshot;

let demo: DemoProduct;
beforeAll(async () => {
  demo = await createDemoProduct('rw_partitions', TREE);
});
afterAll(() => demo.stop());

const outcome = (sql: string, groups = ['analysts']): RewriteOutcome =>
  rewrite(sql, demo.context(policies, { groups }));
function plan(sql: string, groups?: string[]): string {
  const result = outcome(sql, groups);
  if (result.kind !== 'plan') throw new Error(`refused: ${sql}\n-> ${result.message}`);
  return result.sql;
}
const run = async (sql: string, groups?: string[]): Promise<Array<Record<string, unknown>>> =>
  (await demo.client.query(plan(sql, groups))).rows as Array<Record<string, unknown>>;
const oid = (name: string): number => demo.catalog.relation('public', name)!.oid;
const HASH = /^[0-9a-f]{64}$/;

test("golden: the parent masks a column with the tags of every partition, and keeps a partition's row rule to its own rows", () => {
  expect(printedAsRead(plan('SELECT id, note FROM events'))).toBe(
    'SELECT id, note FROM ( SELECT id AS id, CASE WHEN note IS NULL THEN NULL ELSE pgveil.keyed_hash(note::text) END AS note FROM public.events ' +
      `WHERE NOT (tableoid OPERATOR(pg_catalog.=) ANY (ARRAY[${oid('events_us')}])) OR shown OPERATOR(pg_catalog.=) true ) AS events`,
  );
  // Read directly, a partition has its own tags and rule, and its parent's tags.
  expect(printedAsRead(plan('SELECT id, contact, note FROM events_us'))).toBe(
    "SELECT id, contact, note FROM ( SELECT id AS id, CASE WHEN contact IS NULL THEN NULL ELSE CASE WHEN pg_catalog.strpos(contact::text, '@') OPERATOR(pg_catalog.<=) 1 THEN pg_catalog.repeat('*', pg_catalog.length(contact::text)) ELSE pg_catalog.concat(pg_catalog.left(contact::text, 1), pg_catalog.repeat('*', pg_catalog.strpos(contact::text, '@') OPERATOR(pg_catalog.-) 2), pg_catalog.substr(contact::text, pg_catalog.strpos(contact::text, '@'))) END END AS contact, " +
      'CASE WHEN note IS NULL THEN NULL ELSE pgveil.keyed_hash(note::text) END AS note FROM public.events_us WHERE shown OPERATOR(pg_catalog.=) true ) AS events_us',
  );
  // A partition without tags or rules of its own: its parent's tag (contact, narrowed away here),
  // none of its siblings' (note raw).
  expect(printedAsRead(plan('SELECT id, note FROM events_eu'))).toBe(
    'SELECT id, note FROM ( SELECT id AS id, note AS note FROM public.events_eu ) AS events_eu',
  );
});

test("through the parent: the partition's tag masks its column, its rule hides its rows only; no canary", async () => {
  const rows = await run('SELECT id, region, contact, note FROM events ORDER BY id');
  expect(rows.map((r) => r.id)).toEqual([1, 2, 4]);
  expect(rows.every((r) => HASH.test(r.note as string))).toBe(true);
  expect(rows.map((r) => r.contact)).toEqual(['e*****@example.com', 'u*****@example.com', 'a********@example.com']);
  expect(JSON.stringify(rows)).not.toMatch(/zq7/i);
  expect(await run('SELECT count(*)::int AS n FROM events')).toEqual([{ n: 3 }]);
  // A condition that would fail on the hidden row never sees it.
  expect(
    await run("SELECT count(*)::int AS n FROM events WHERE 1 / (CASE WHEN contact LIKE 'zq7%' THEN 0 ELSE 1 END) = 1"),
  ).toEqual([{ n: 3 }]);
});

test("each partition read directly: its own tags and rules and its ancestors', never its siblings'", async () => {
  expect(await run('SELECT id, note FROM events_eu')).toEqual([{ id: 1, note: 'eu note' }]);
  const us = await run('SELECT id, note FROM events_us');
  expect(us.map((r) => r.id)).toEqual([2]);
  expect(us[0]!.note).toMatch(HASH);
  // The sub-partitioned branch: its leaf's e-mail mask, which is all of the branch's tags.
  expect(await run('SELECT id, note FROM events_apac')).toEqual([{ id: 4, note: 'z***********@example.com' }]);
  expect(await run('SELECT id, note FROM events_apac_low')).toEqual([{ id: 4, note: 'z***********@example.com' }]);
  // ONLY the partitioned parent holds no rows of its own.
  expect(await run('SELECT count(*)::int AS n FROM ONLY events')).toEqual([{ n: 0 }]);
});

test('a partition whose rows a principal may not read: absent from the parent, empty when named', async () => {
  const contractors = ['contractors'];
  expect((await run('SELECT id FROM events ORDER BY id', contractors)).map((r) => r.id)).toEqual([1, 2]);
  expect(plan('SELECT id FROM events', contractors)).toContain(
    `NOT (tableoid OPERATOR(pg_catalog.=) ANY (ARRAY[${oid('events_apac_low')}]))`,
  );
  expect(await run('SELECT id FROM events_apac', contractors)).toEqual([]);
  expect(await run('SELECT id FROM events_apac_low', contractors)).toEqual([]);
});

test("a hash of a partition's column read through the parent equals the one read from the partition (joins hold)", async () => {
  const [parent] = await run('SELECT note FROM events WHERE id = 2');
  const [partition] = await run('SELECT note FROM events_us WHERE id = 2');
  expect(parent!.note).toBe(partition!.note);
});
