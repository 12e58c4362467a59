/**
 * Discovery end to end on the demo data product: the service account samples every relation, the
 * classifiers propose exactly the tags the demo's policies use, lineage reaches the views built on
 * the tagged tables, an unreadable table is reported, and no sampled value appears anywhere.
 */
import { readFileSync } from 'node:fs';
import { loadServerConfig } from '../../cli/config/load-server-config';
import { loadPolicyFiles } from '../../policies';
import { BUILTIN_CLASSIFIERS } from '../../discovery/builtin-classifiers';
import { discoverProduct } from '../../discovery/discover-product';
import { formatReport } from '../../discovery/format-report';
import type { DiscoveryReport } from '../../discovery/discovery-report';
import type { DataProductConfig } from '../../policies/policy-model';
import { startStack, type Stack } from '../support/pgveil-stack';
import { join } from 'node:path';

const CANARY_EMAIL = 'zq-canary-7f3a@canary-discovery.test';
const CANARY_NOTE = 'call me at +44 20 7946 0958 zqcanary';

let stack: Stack;
let report: DiscoveryReport;
let product: DataProductConfig;
let ruleTags: string[];

beforeAll(async () => {
  stack = await startStack('discover', {
    extraSql: `
      CREATE VIEW public.customer_contacts AS SELECT c.id, md5(lower(c.email)) AS contact_key, c.region FROM public.customers c;
      CREATE MATERIALIZED VIEW public.contact_report AS SELECT cc.contact_key AS who, count(*) AS n FROM public.customer_contacts cc GROUP BY cc.contact_key;
      CREATE TABLE public.tickets (id int, note text, reporter text);
      INSERT INTO public.tickets SELECT i, 'customer wrote about order ' || i || ': ' || CASE WHEN i % 2 = 0 THEN 'please reach ${CANARY_EMAIL}' ELSE '${CANARY_NOTE}' END, 'agent' FROM generate_series(1, 40) i;
      CREATE TABLE public.events (id int, ip text);
      INSERT INTO public.events SELECT i, '192.0.2.' || (i % 250) FROM generate_series(1, 20000) i;
      ANALYZE public.events;
      CREATE VIEW public.slow AS SELECT pg_sleep(2)::text AS x;
      CREATE SCHEMA vault;
      CREATE TABLE vault.secrets (id int, api_key text);
    `,
  });
  await stack.db.exec(`REVOKE ALL ON vault.secrets FROM ${stack.serviceRole}`);
  const config = loadServerConfig(join(stack.dir, 'pgveil.yaml'));
  const bundle = loadPolicyFiles(config.policies);
  product = bundle.dataProducts.get('demo')!;
  ruleTags = [
    ...new Set(bundle.set.globalPolicies.flatMap((r) => (r.columns ?? []).flatMap((c) => c.tags ?? []))),
  ].sort();
  report = await discoverProduct(product, {
    classifiers: BUILTIN_CLASSIFIERS,
    rows: 500,
    excludeSchemas: ['pgveil'],
    only: new Set([
      'public.customers',
      'public.orders',
      'public.tickets',
      'public.customer_contacts',
      'public.contact_report',
      'vault.secrets',
    ]),
  });
});
afterAll(() => stack.stop());

const proposalsOf = (relation: string, column: string): string[] =>
  report.relations
    .find((r) => `${r.schema}.${r.name}` === relation)!
    .columns.find((c) => c.name === column)!
    .proposals.map((p) => p.tag);

test('every tag the demo policies use is proposed on the column that carries it, and nothing else is', () => {
  const proposed = report.relations
    .filter((r) => r.kind === 'r')
    .flatMap((r) =>
      r.columns
        .filter((c) => c.proposals.length > 0)
        .map((c) => `${r.schema}.${r.name}.${c.name}=${c.proposals.map((p) => p.tag).join(',')}`),
    );
  expect(proposed.sort()).toEqual([
    'public.customers.birth_date=pii.birth_date',
    'public.customers.email=pii.email',
    'public.customers.name=pii.name',
    'public.customers.phone=pii.phone',
    'public.customers.ssn=pii.ssn',
    'public.orders.card_number=finance.card',
    'public.tickets.note=pii.free_text',
  ]);
  // Every tag a demo rule names is proposed somewhere (pii.name is tagged in the file, not by a rule).
  const proposedTags = new Set(
    report.relations.flatMap((r) => r.columns.flatMap((c) => c.proposals.map((p) => p.tag))),
  );
  expect(ruleTags).toEqual(['finance.card', 'pii.birth_date', 'pii.email', 'pii.phone', 'pii.ssn']);
  for (const tag of ruleTags) expect(proposedTags.has(tag)).toBe(true);
});

test('a large table is sampled by TABLESAMPLE SYSTEM under the row cap; a slow view hits the statement timeout and is reported', async () => {
  const bounded = await discoverProduct(product, {
    classifiers: BUILTIN_CLASSIFIERS,
    rows: 100,
    statementTimeoutMs: 300,
    excludeSchemas: ['pgveil'],
    only: new Set(['public.events', 'public.slow']),
  });
  const events = bounded.relations.find((r) => r.name === 'events')!;
  expect(events.sample!.method).toBe('tablesample');
  expect(events.sample!.rows).toBeLessThanOrEqual(100);
  expect(events.sample!.rows).toBeGreaterThanOrEqual(50);
  expect(events.columns.find((c) => c.name === 'ip')!.proposals.map((p) => p.tag)).toEqual(['pii.ip_address']);
  expect(bounded.relations.find((r) => r.name === 'slow')!.failure).toEqual({
    sqlstate: '57014',
    reason: 'the sample query exceeded the statement timeout',
  });
});

test('a spent time budget leaves relations unread and lists them', async () => {
  const spent = await discoverProduct(product, {
    classifiers: BUILTIN_CLASSIFIERS,
    budgetMs: -1,
    excludeSchemas: ['pgveil'],
    only: new Set(['public.customers', 'public.orders']),
  });
  expect(spent.relations).toEqual([]);
  expect(spent.notReached).toEqual(['public.customers', 'public.orders']);
});

test('tags follow lineage into a view and a materialized view over it', () => {
  // A digest of the address: no classifier sees an e-mail in it, the definition says where it comes from.
  const view = report.relations
    .find((r) => r.name === 'customer_contacts')!
    .columns.find((c) => c.name === 'contact_key')!.proposals;
  expect(view).toEqual([{ classifier: 'lineage', tag: 'pii.email', confidence: 1, from: ['public.customers.email'] }]);
  const lineage = report.relations.find((r) => r.name === 'contact_report')!.columns.find((c) => c.name === 'who')!
    .proposals[0]!;
  expect(lineage).toMatchObject({ classifier: 'lineage', tag: 'pii.email', from: ['public.customers.email'] });
  expect(proposalsOf('public.customer_contacts', 'region')).toEqual([]);
});

test('a table the service account cannot read is reported with its SQLSTATE, not fatal', () => {
  const vault = report.relations.find((r) => r.schema === 'vault' && r.name === 'secrets')!;
  expect(vault.failure).toEqual({ sqlstate: '42501', reason: 'permission denied to the service account' });
  expect(vault.sample).toBeUndefined();
});

test('no sampled value appears in the report, its JSON or its text', () => {
  const text = `${JSON.stringify(report)}\n${formatReport(report)}`;
  for (const canary of [CANARY_EMAIL, 'zqcanary', '7946', 'customer1@example.com', 'Lovelace', '4111-1111'])
    expect(text).not.toContain(canary);
  expect(readFileSync(stack.eventsFile, { encoding: 'utf8', flag: 'a+' })).not.toContain('zqcanary');
});
