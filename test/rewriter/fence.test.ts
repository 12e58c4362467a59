/** The row filter holds before any analyst expression that could leak, while plain predicates keep their index. */
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { analystPolicy } from '../support/static-policy';

let demo: DemoProduct;
beforeAll(async () => {
  demo = await createDemoProduct(
    'rw_fence',
    'CREATE INDEX customers_name_idx ON public.customers (name); ANALYZE public.customers;',
  );
});
afterAll(() => demo.stop());

async function plan(sql: string): Promise<string> {
  const outcome = demo.rewrite(sql, analystPolicy);
  if (outcome.kind !== 'plan') throw new Error(outcome.message);
  await demo.client.query('SET enable_seqscan = off');
  try {
    const rows = (await demo.client.query(`EXPLAIN (COSTS OFF) ${outcome.sql}`)).rows as Array<{
      'QUERY PLAN': string;
    }>;
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  } finally {
    await demo.client.query('RESET enable_seqscan');
  }
}

test('a plain equality is pulled up and served by the index, with the filter beside it', async () => {
  const p = await plan("SELECT id FROM customers WHERE name = 'Ada Lovelace'");
  expect(p).toMatch(/Index Scan using customers_name_idx on customers|Bitmap Index Scan on customers_name_idx/);
  expect(p).not.toContain('Subquery Scan');
});

test('a non-leakproof predicate runs above the fence, after the row filter', async () => {
  const p = await plan("SELECT id FROM customers WHERE 1 / (CASE WHEN region = 'US' THEN 0 ELSE 1 END) = 1");
  expect(p).toContain('Subquery Scan on customers');
  // The division sits in the Subquery Scan's filter, above the scan that applies region = ANY('{EU}').
  const lines = p.split('\n');
  const division = lines.findIndex((l) => l.includes('Filter') && l.includes('CASE'));
  const regionFilter = lines.findIndex((l) => l.includes("'{EU}'"));
  expect(division).toBeGreaterThanOrEqual(0);
  expect(regionFilter).toBeGreaterThan(division);
});

test('the classic error oracle does not raise for the EU analyst: hidden rows never meet the expression', async () => {
  const rows = await demo.run(
    "SELECT count(*)::int AS n FROM customers WHERE 1 / (CASE WHEN region = 'US' THEN 0 ELSE 1 END) = 1",
    analystPolicy,
  );
  expect(rows).toEqual([{ n: 333 }]);
});
