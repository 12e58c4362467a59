/** Every column action on real values, denied columns, views and partitions over protected tables, the cache. */
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { staticPolicy } from '../support/static-policy';
import { rewrite, RewriteCache } from '../../rewriter';

const EXTRA = `
CREATE VIEW public.customer_emails AS SELECT id, email FROM public.customers;
CREATE VIEW public.order_status AS SELECT id, status FROM public.orders;
CREATE TABLE public.events (id int, region text, secret text) PARTITION BY LIST (region);
CREATE TABLE public.events_eu PARTITION OF public.events FOR VALUES IN ('EU');
CREATE TABLE public.events_us PARTITION OF public.events FOR VALUES IN ('US');
INSERT INTO public.events VALUES (1, 'EU', 'eu-secret'), (2, 'US', 'us-secret');
`;

const policy = staticPolicy({
  'public.customers': {
    columns: {
      name: { kind: 'constant', value: 'REDACTED' },
      email: { kind: 'regex', pattern: '[a-z]+', replacement: 'x', flags: 'g' },
      ssn: { kind: 'null' },
      phone: { kind: 'mask', keepFirst: 3, keepLast: 2, maskChar: '#' },
      birth_date: { kind: 'truncate_date', unit: 'month' },
    },
  },
  'public.orders': { columns: { amount: { kind: 'round', digits: -1 }, card_number: { kind: 'deny' } } },
  'public.events': {
    columns: { secret: { kind: 'hash' } },
    rows: { kind: 'filter', predicate: { op: 'eq', column: 'region', value: 'EU' } },
  },
});

let demo: DemoProduct;
beforeAll(async () => {
  demo = await createDemoProduct('rw_actions', EXTRA);
});
afterAll(() => demo.stop());

test('constant, regex, null, partial mask and date truncation keep the column types', async () => {
  const rows = await demo.run('SELECT name, email, ssn, phone, birth_date FROM customers WHERE id = 1', policy);
  expect(rows).toEqual([
    {
      name: 'REDACTED',
      email: 'x1@x.x',
      ssn: null,
      phone: '+1-######37',
      birth_date: new Date('1950-01-01T00:00:00.000Z'),
    },
  ]);
  const types = await demo.client.query(
    `SELECT pg_typeof(name)::text AS n, pg_typeof(ssn)::text AS s, pg_typeof(birth_date)::text AS b FROM (${(demo.rewrite('SELECT * FROM customers', policy) as { sql: string }).sql}) q LIMIT 1`,
  );
  expect(types.rows).toEqual([{ n: 'text', s: 'text', b: 'date' }]);
});

test('rounding keeps numeric type and rounds to tens', async () => {
  const rows = await demo.run('SELECT amount FROM orders WHERE id = 1', policy);
  expect(rows).toEqual([{ amount: '80.00' }]); // numeric(10,2) keeps its scale
});

test('a denied column refuses any statement that references it, including * and whole-row', () => {
  for (const sql of [
    'SELECT card_number FROM orders',
    'SELECT * FROM orders',
    'SELECT o FROM orders o',
    'SELECT 1 FROM orders WHERE card_number IS NULL',
  ]) {
    expect(demo.rewrite(sql, policy)).toMatchObject({ kind: 'refusal', sqlstate: '42501', reasons: ['denied_column'] });
  }
  expect(demo.rewrite('SELECT id, amount FROM orders', policy).kind).toBe('plan');
});

test('a view over a protected table is expanded and shows masked values; a view over unprotected ones is read as it is', async () => {
  const outcome = demo.rewrite('SELECT * FROM customer_emails ORDER BY id LIMIT 2', policy);
  expect(outcome).toMatchObject({ kind: 'plan', relations: ['public.customers', 'public.customer_emails'] });
  expect(await demo.run('SELECT * FROM customer_emails ORDER BY id LIMIT 2', policy)).toEqual([
    { id: 1, email: 'x1@x.x' },
    { id: 2, email: 'x2@x.x' },
  ]);
  const open = staticPolicy({});
  expect(demo.rewrite('SELECT * FROM order_status', open)).toMatchObject({
    kind: 'plan',
    sql: 'SELECT * FROM public.order_status',
  });
  // Over a relation with a denied column the view is expanded too; `*` anywhere is refused, as over tables.
  expect(await demo.run('SELECT id, status FROM order_status WHERE id = 2', policy)).toEqual([
    { id: 2, status: 'delivered' },
  ]);
  expect(demo.rewrite('SELECT * FROM order_status', policy)).toMatchObject({
    kind: 'refusal',
    reasons: ['denied_column'],
  });
});

test('partitions inherit the parent decision: filtered and hashed through the child too', async () => {
  expect(await demo.run('SELECT id, region FROM events ORDER BY id', policy)).toEqual([{ id: 1, region: 'EU' }]);
  expect(await demo.run('SELECT id FROM events_us', policy)).toEqual([]);
  const eu = await demo.run('SELECT secret FROM events_eu', policy);
  expect(eu).toHaveLength(1);
  expect(eu[0]!.secret).toMatch(/^[0-9a-f]{64}$/);
});

test('catalog changes are seen after an on-demand refresh; unknown names are refused until then', async () => {
  await demo.client.query('CREATE TABLE public.late_table (x int)');
  expect(demo.rewrite('SELECT x FROM late_table', policy)).toMatchObject({ kind: 'refusal', sqlstate: '42P01' });
  await demo.reloadCatalog();
  expect(demo.rewrite('SELECT x FROM late_table', policy)).toMatchObject({
    kind: 'plan',
    sql: 'SELECT x FROM public.late_table',
  });
});

test('the rewrite cache returns the same outcome for the same inputs and separates principals and versions', () => {
  const cache = new RewriteCache(2);
  const ctx = demo.context(policy);
  const first = cache.get('SELECT email FROM customers', ctx, () => rewrite('SELECT email FROM customers', ctx));
  const second = cache.get('SELECT email FROM customers', ctx, () => {
    throw new Error('should be cached');
  });
  expect(second).toBe(first);
  const otherUser = demo.context(policy, { user: 'someone-else' });
  let computed = 0;
  cache.get(
    'SELECT email FROM customers',
    otherUser,
    () => (computed++, rewrite('SELECT email FROM customers', otherUser)),
  );
  cache.get(
    'SELECT email FROM customers',
    demo.context(staticPolicy({}, 'v2')),
    () => (computed++, rewrite('SELECT 1', ctx)),
  );
  expect(computed).toBe(2);
  expect(cache.hits).toBe(1);
  expect(cache.misses).toBe(3);
});

test('a principal not subscribed to the data product is refused every statement', () => {
  const unsubscribed = staticPolicy({}, 'v-sub', false);
  expect(demo.rewrite('SELECT 1', unsubscribed)).toMatchObject({
    kind: 'refusal',
    sqlstate: '42501',
    reasons: ['not_subscribed'],
    message: 'user "analyst" is not subscribed to data product "demo"',
  });
});
