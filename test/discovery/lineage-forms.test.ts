/**
 * Tags follow lineage through the forms a reporting layer uses: a CTE, UNION ALL, a join inside a
 * subquery and a scalar subquery, into a view and a materialized view. Every value is a digest, so
 * no classifier can see what it is computed from: only the view definition tells.
 */
import { join } from 'node:path';
import { loadServerConfig } from '../../cli/config/load-server-config';
import { loadPolicyFiles } from '../../policies';
import { BUILTIN_CLASSIFIERS } from '../../discovery/builtin-classifiers';
import { discoverProduct } from '../../discovery/discover-product';
import type { DiscoveryReport } from '../../discovery/discovery-report';
import { startStack, type Stack } from '../support/pgveil-stack';

let stack: Stack;
let report: DiscoveryReport;

beforeAll(async () => {
  stack = await startStack('disclineage', {
    extraSql: `
      CREATE VIEW public.digests AS
        WITH x AS (SELECT c.id, md5(c.ssn) AS h FROM public.customers c)
        SELECT x.h FROM x UNION ALL SELECT md5(o.card_number) FROM public.orders o;
      CREATE MATERIALIZED VIEW public.digest_report AS
        SELECT j.id, j.h2, (SELECT md5(c2.phone) FROM public.customers c2 WHERE c2.id = j.id) AS p
        FROM (SELECT c.id, md5(c.email) AS h2 FROM public.customers c JOIN public.orders o ON o.customer_id = c.id) j;
    `,
  });
  const config = loadServerConfig(join(stack.dir, 'pgveil.yaml'));
  const product = loadPolicyFiles(config.policies).dataProducts.get('demo')!;
  report = await discoverProduct(product, {
    classifiers: BUILTIN_CLASSIFIERS,
    rows: 100,
    excludeSchemas: ['pgveil'],
    only: new Set(['public.digests', 'public.digest_report']),
  });
});
afterAll(() => stack.stop());

const proposals = (relation: string): Record<string, string[]> =>
  Object.fromEntries(
    report.relations
      .find((r) => r.name === relation)!
      .columns.map((c) => [
        c.name,
        c.proposals.map((p) => `${p.tag} ${p.confidence} ${'from' in p ? p.from.join(',') : p.classifier}`),
      ]),
  );

test("a CTE and both branches of a UNION ALL carry their base columns' tags into a view", () => {
  expect(proposals('digests')).toEqual({
    h: ['pii.ssn 1 public.customers.ssn', 'finance.card 1 public.orders.card_number'],
  });
});

test('a join inside a subquery and a scalar subquery carry their tags into a materialized view', () => {
  expect(proposals('digest_report')).toEqual({
    id: [],
    h2: ['pii.email 1 public.customers.email'],
    p: ['pii.phone 1 public.customers.phone'],
  });
});
