/**
 * Differential with policies applied: the same queries through the rewrite and over hand-written
 * security_barrier views implementing the analyst's masks and row filter must return the same rows.
 */
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { analystPolicy } from '../support/static-policy';

const SECURE_VIEWS = `
CREATE SCHEMA sv;
CREATE VIEW sv.customers WITH (security_barrier) AS
  SELECT id, name,
         left(email, 1) || repeat('*', strpos(email, '@') - 2) || substr(email, strpos(email, '@')) AS email,
         pgveil.keyed_hash(ssn) AS ssn,
         repeat('*', length(phone) - 4) || right(phone, 4) AS phone,
         region, date_trunc('year', birth_date)::date AS birth_date, created_at
  FROM public.customers WHERE region = 'EU';
CREATE VIEW sv.orders AS
  SELECT id, customer_id, ordered_at, amount, repeat('*', length(card_number) - 4) || right(card_number, 4) AS card_number, status
  FROM public.orders;
`;

const QUERIES = [
  'SELECT * FROM customers ORDER BY id',
  'SELECT * FROM orders ORDER BY id',
  'SELECT email, count(*) FROM customers GROUP BY email ORDER BY 1',
  'SELECT c.id, c.ssn, o.card_number FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY o.id',
  "SELECT id FROM customers WHERE ssn LIKE '0%' ORDER BY id",
  'SELECT region, min(birth_date), max(birth_date) FROM customers GROUP BY region',
  'SELECT row_to_json(c)::text AS j FROM customers c ORDER BY id LIMIT 20',
  'WITH x AS (SELECT * FROM customers) SELECT count(*), count(DISTINCT ssn) FROM x',
  'SELECT phone FROM customers UNION SELECT card_number FROM orders ORDER BY 1',
  "SELECT count(*) FROM customers WHERE 1 / (CASE WHEN region = 'US' THEN 0 ELSE 1 END) = 1",
  'SELECT o.status, count(*) FROM orders o WHERE o.customer_id IN (SELECT id FROM customers) GROUP BY 1 ORDER BY 1',
  'SELECT id, rank() OVER (ORDER BY ssn) FROM customers ORDER BY id LIMIT 30',
];

let demo: DemoProduct;
beforeAll(async () => {
  demo = await createDemoProduct('rw_secure_views');
  await demo.client.query(SECURE_VIEWS);
});
afterAll(() => demo.stop());

test.each(QUERIES)('%s', async (sql) => {
  const rewritten = await demo.run(sql, analystPolicy);
  await demo.client.query('BEGIN');
  try {
    await demo.client.query('SET LOCAL search_path = sv, public');
    const viaViews = (await demo.client.query(sql)).rows;
    expect(rewritten).toEqual(viaViews);
    expect(rewritten.length).toBeGreaterThan(0);
  } finally {
    await demo.client.query('ROLLBACK');
  }
});
