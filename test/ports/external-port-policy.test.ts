/**
 * An external port through a real pgveil on the real upstream, with epsilon 100 per answer: the
 * noise of a single COUNT (sensitivity 1 or 3) is then 0 except with probability below 1e-14, so
 * what the policy and the bounds do shows in exact numbers. Differential privacy is applied on top
 * of the port's policy (masks and row filters stay in force), contributions per privacy unit are
 * bounded and values clamped (planted outliers), row-level statements are refused, and an answer
 * asked again is the answer already released, in text and binary result format alike.
 */
import { readFileSync } from 'node:fs';
import type { Client } from 'pg';
import { Client as PgClient } from 'pg';
import { startPortStack, type PortStack } from './port-stack';
import { waitForText } from '../support/wait-for-text';

// A canary customer in the EU (the partner's region) whose e-mail a mask hides, and an outlier
// customer with 500 orders of 90,000,000 each.
const CANARIES = `
INSERT INTO public.customers VALUES (1001, 'Canary Person', 'canary-4f1d@example.com', '999-99-9999', '+1-555-9999', 'EU', '1990-01-01', now());
INSERT INTO public.customers VALUES (1002, 'Outlier Person', 'outlier@example.com', '999-99-9998', '+1-555-9998', 'EU', '1990-01-01', now());
INSERT INTO public.orders SELECT 100000 + i, 1002, now(), 90000000, '4111-1111-0000-0000', 'placed' FROM generate_series(1, 500) AS i;
`;

let s: PortStack;
let direct: Client;
let partner: Client;
let partnerPii: Client;

beforeAll(async () => {
  s = await startPortStack('ports_policy', { epsilonPerAnswer: 100, budget: 100000, extraSql: CANARIES });
  direct = new PgClient(s.stack.db.config());
  await direct.connect();
  partner = await s.connect('partner');
  partnerPii = await s.connect('partner_pii');
});

afterAll(async () => {
  await Promise.all([partner?.end(), partnerPii?.end(), direct?.end()]);
  await s?.stop();
});

const exact = async (sql: string): Promise<number> => Number((await direct.query(sql)).rows[0].count);

test('the row filter stays in force: a partner of region EU counts only EU customers, other groups are 0', async () => {
  const { rows } = await partner.query('SELECT region, count(*) FROM customers GROUP BY region');
  expect(rows).toEqual([
    { region: 'EU', count: String(await exact("SELECT count(*) FROM customers WHERE region = 'EU'")) },
    { region: 'US', count: '0' },
    { region: 'APAC', count: '0' },
  ]);
  const all = await partnerPii.query('SELECT region, count(*) FROM customers GROUP BY region');
  expect(all.rows.map((r) => Number(r.count))).toEqual([
    await exact("SELECT count(*) FROM customers WHERE region = 'EU'"),
    await exact("SELECT count(*) FROM customers WHERE region = 'US'"),
    await exact("SELECT count(*) FROM customers WHERE region = 'APAC'"),
  ]);
});

test('the mask stays in force: grouping by a masked e-mail finds the canary only for the partner with PII clearance', async () => {
  const masked = await partner.query('SELECT email, count(*) FROM customers GROUP BY email');
  const maskedLikeCanary = await exact(
    "SELECT count(*) FROM customers WHERE region = 'EU' AND length(split_part(email, '@', 1)) = 11",
  );
  expect(masked.rows).toEqual([
    { email: 'canary-4f1d@example.com', count: '0' },
    { email: 'c**********@example.com', count: String(maskedLikeCanary) },
  ]);
  const raw = await partnerPii.query('SELECT email, count(*) FROM customers GROUP BY email');
  expect(raw.rows).toEqual([
    { email: 'canary-4f1d@example.com', count: '1' },
    { email: 'c**********@example.com', count: '0' },
  ]);
});

test('planted outliers: one customer contributes at most maxRowsPerUnit rows, each clamped to the measure bounds', async () => {
  expect(await exact('SELECT count(*) FROM orders WHERE customer_id = 1002')).toBe(500);
  const counted = await partner.query('SELECT count(*) FROM orders WHERE customer_id = 1002');
  expect(counted.rows).toEqual([{ count: '3' }]);
  // 3 rows of 90,000,000 clamped to 1000.00: 3000.00, plus noise of scale 3 x 1000.00 / 100 = 30.
  // |noise| > 500 has probability below 1e-6; unclamped, the sum would be 270,000,000.
  const summed = await partner.query('SELECT sum(amount) FROM orders WHERE customer_id = 1002');
  expect(Math.abs(Number(summed.rows[0].sum) - 3000)).toBeLessThan(500);
});

test('row-level statements are refused with 42501 and what the port accepts; so is a non-subscriber', async () => {
  const accepts =
    'external port "demo_external" answers only SELECT of COUNT(*), COUNT(column), SUM(measure), AVG(measure)';
  for (const [sql, what] of [
    ['SELECT * FROM customers', 'an expression other than a column name'],
    ['SELECT id, count(*) FROM customers GROUP BY id', 'GROUP BY "id" (not a declared dimension'],
    ['SELECT max(amount) FROM orders', 'function "max"'],
    ['SELECT status, count(*) FROM orders GROUP BY status LIMIT 1', 'LIMIT or OFFSET'],
    ['SELECT count(*) OVER () FROM orders', 'a window function'],
    ['SELECT count(*) FROM (SELECT * FROM customers) c', 'a FROM other than one published relation'],
    ['SELECT count(*) FROM customers WHERE id IN (SELECT customer_id FROM orders)', 'a WHERE condition other than'],
  ] as const) {
    await expect(partner.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringContaining(what) });
    await expect(partner.query(sql)).rejects.toMatchObject({ message: expect.stringContaining(accepts) });
  }
  await expect(partner.query('DELETE FROM customers')).rejects.toMatchObject({
    code: '42501',
    message: expect.stringContaining('DELETE is not allowed on external port'),
  });
  await expect(partner.query('SELECT count(*) FROM customers; SELECT count(*) FROM orders')).rejects.toMatchObject({
    code: '0A000',
  });
  const analyst = await s.connect('analyst');
  try {
    await expect(analyst.query('SELECT count(*) FROM customers')).rejects.toMatchObject({
      code: '42501',
      message: 'user "analyst" is not a subscriber of port "demo_external" of data product "demo"',
    });
  } finally {
    await analyst.end();
  }
});

test('an answer asked again is the one already released: same noisy values, no new spend, also in binary result format', async () => {
  const sql = 'SELECT status, sum(amount), avg(amount) FROM orders GROUP BY status';
  const before = await partner.query('SHOW pgveil.budget');
  const first = await partner.query(sql);
  const second = await partner.query(sql);
  expect(second.rows).toEqual(first.rows);
  const binary = await s.connect('partner', 'demo_external', { binary: true });
  try {
    const third = await binary.query(sql);
    expect(third.rows).toEqual(first.rows);
  } finally {
    await binary.end();
  }
  const after = await partner.query('SHOW pgveil.budget');
  expect(Number(after.rows[0].spent_epsilon) - Number(before.rows[0].spent_epsilon)).toBe(100);
  // The noise is there: the exact sums (clamped, bounded) are whole hundredths that the answer misses.
  const exactSums = await direct.query(
    "SELECT status, sum(LEAST(amount, 1000)) AS sum FROM orders WHERE customer_id <= 1000 GROUP BY status ORDER BY array_position(ARRAY['placed','shipped','delivered','returned'], status)",
  );
  expect(first.rows.map((r) => r.status)).toEqual(exactSums.rows.map((r) => r.status));
  expect(first.rows.some((r, i) => r.sum !== exactSums.rows[i].sum)).toBe(true);
});

test('each answer spends epsilon in the audit record, and metrics count it', async () => {
  const first = await partner.query("SELECT count(*) FROM customers WHERE region = 'EU' AND id > 500");
  expect((await partner.query("SELECT count(*) FROM customers WHERE region = 'EU' AND id > 500")).rows).toEqual(
    first.rows,
  );
  const audit = await waitForText(s.stack.auditFile, 'AND id > 500');
  const record = audit
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .find((r) => String(r.statement).includes('id > $2') || String(r.statement).includes('id > 500'));
  expect(record.privacy).toMatchObject({ port: 'demo_external', epsilon: '100', delta: '0', cached: false });
  expect(record.dataProduct).toBe('demo_external');
  expect(readFileSync(s.stack.auditFile, 'utf8')).not.toContain('90000000');
  const metrics = await s.stack.pgveil.metrics.registry.metrics();
  expect(metrics).toMatch(/pgveil_privacy_answers_total\{port="demo_external",result="spent"\} \d+/);
  expect(metrics).toMatch(/pgveil_privacy_answers_total\{port="demo_external",result="cached"\} \d+/);
  expect(metrics).toMatch(/pgveil_privacy_epsilon_spent_total\{port="demo_external"\} [1-9]\d*00/);
});

test('a declared internal port is the data product under its own subscribers: masks and row filters, no noise', async () => {
  const reporting = await s.connect('partner', 'demo_reporting');
  try {
    const { rows } = await reporting.query(
      'SELECT id, email, region FROM customers WHERE id IN (1001, 1002, 2) ORDER BY id',
    );
    expect(rows).toEqual([
      { id: 1001, email: 'c**********@example.com', region: 'EU' },
      { id: 1002, email: 'o******@example.com', region: 'EU' },
    ]);
  } finally {
    await reporting.end();
  }
  // The partner is a subscriber of the ports, not of the data product itself.
  await expect(
    s.connect('partner', 'demo').then((c) => c.query('SELECT 1').finally(() => c.end())),
  ).rejects.toMatchObject({ code: '42501', message: 'user "partner" is not subscribed to data product "demo"' });
});

test('the internal port (the data product itself) behaves as before', async () => {
  const steward = await s.stack.connect('steward');
  try {
    const { rows } = await steward.query('SELECT email FROM customers WHERE id = 1001');
    expect(rows).toEqual([{ email: 'canary-4f1d@example.com' }]);
  } finally {
    await steward.end();
  }
});
