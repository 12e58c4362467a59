/**
 * What an external port accepts and refuses, read from PostgreSQL's parse tree, and the exact SQL
 * an accepted aggregate becomes before the port's policy rewrites it.
 */
import { initRewriter, parseTree } from '../../rewriter/sql-parser';
import { bodyOf } from '../../rewriter/ast';
import { readAggregateQuery, PortRefusal } from '../../ports/aggregate-query';
import { aggregateSql, groupCount } from '../../ports/dp-sql';
import { answerColumns } from '../../ports/noisy-columns';
import { decimalToRational } from '../../ports/rational';
import type { OutputPortConfig } from '../../ports/port-model';

const port: OutputPortConfig = {
  name: 'sales_external',
  kind: 'external',
  subscribers: { users: ['partner'] },
  epsilonPerAnswer: 1,
  budget: { epsilon: 3, period: 'day' },
  relations: {
    'public.orders': {
      privacyUnit: 'customer_id',
      maxRowsPerUnit: 3,
      dimensions: { status: ['placed', 'shipped'], region: ['EU', "O'Neil"] },
      measures: { amount: { lower: 0, upper: 1000, decimals: 2 } },
    },
  },
};

beforeAll(() => initRewriter());

const read = (sql: string) => readAggregateQuery(bodyOf(parseTree(sql)[0]!.stmt, 'SelectStmt')!, port);
function refusalOf(sql: string): { rule: string; message: string } {
  try {
    read(sql);
  } catch (error) {
    if (error instanceof PortRefusal) return { rule: error.rule, message: error.message };
    throw error;
  }
  throw new Error(`accepted: ${sql}`);
}

describe('row-level statements are refused, saying what the port accepts', () => {
  test.each([
    [
      'SELECT id, count(*) FROM orders GROUP BY id',
      'dp_not_dimension',
      'GROUP BY "id" (not a declared dimension: its groups could single out rows)',
    ],
    ['SELECT customer_id, count(*) FROM orders GROUP BY customer_id', 'dp_not_dimension', 'GROUP BY "customer_id"'],
    ['SELECT max(amount) FROM orders', 'dp_min_max', 'function "max" (it returns one row\'s value)'],
    ['SELECT min(amount) FROM orders', 'dp_min_max', 'function "min"'],
    ['SELECT count(*) FROM orders LIMIT 1', 'dp_limit', 'LIMIT or OFFSET'],
    ['SELECT count(*) OVER () FROM orders', 'dp_window', 'a window function'],
    ['SELECT count(*) FROM (SELECT * FROM orders) o', 'dp_not_aggregate', 'a FROM other than one published relation'],
    [
      'SELECT count(*) FROM orders WHERE amount > (SELECT max(amount) FROM orders)',
      'dp_where',
      'a WHERE operand other than a column or a constant',
    ],
    [
      'SELECT count(*) FROM orders WHERE customer_id IN (SELECT 1)',
      'dp_where',
      'a WHERE condition other than comparisons, IN, BETWEEN, IS NULL, AND, OR, NOT',
    ],
    [
      'SELECT count(*) FROM orders WHERE 1 / (amount - 5) > 0',
      'dp_where',
      'a WHERE operand other than a column or a constant',
    ],
    [
      'SELECT count(*) FROM orders WHERE amount <-> 5 > 0',
      'dp_where',
      'a WHERE operand other than a column or a constant',
    ],
    ["SELECT count(*) FROM orders WHERE status ~ 'x'", 'dp_where', 'the operator "~" in WHERE'],
    [
      'SELECT count(*) FROM orders o JOIN orders p ON true',
      'dp_not_aggregate',
      'a FROM other than one published relation',
    ],
    ['SELECT status FROM orders GROUP BY status', 'dp_not_aggregate', 'a SELECT without an aggregate'],
    [
      'SELECT amount FROM orders',
      'dp_column_not_published',
      'selecting "amount" (not a grouped dimension: a row-level value)',
    ],
    ['SELECT count(DISTINCT customer_id) FROM orders', 'dp_not_aggregate', 'COUNT(DISTINCT ...)'],
    [
      'SELECT sum(customer_id) FROM orders',
      'dp_column_not_published',
      'SUM of "customer_id" (not a declared measure with bounds)',
    ],
    ['SELECT count(card_number) FROM orders', 'dp_column_not_published', 'COUNT of "card_number" (not published)'],
    [
      'SELECT count(*) FROM customers',
      'dp_relation_not_published',
      'relation "public.customers", which the port does not publish,',
    ],
    ['WITH o AS (SELECT * FROM orders) SELECT count(*) FROM o', 'dp_not_aggregate', 'WITH'],
    ['SELECT count(*) FROM orders UNION SELECT count(*) FROM orders', 'dp_not_aggregate', 'a set operation'],
    ['SELECT count(*) FROM orders HAVING count(*) > 1', 'dp_not_aggregate', 'HAVING'],
    [
      'SELECT status, count(*) FROM orders GROUP BY status ORDER BY count(*)',
      'dp_not_aggregate',
      'ORDER BY an expression other than a column name',
    ],
    ['SELECT count(*) FILTER (WHERE amount > 5) FROM orders', 'dp_not_aggregate', 'an aggregate FILTER'],
    [
      'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) FROM orders',
      'dp_not_aggregate',
      'function "percentile_cont"',
    ],
  ])('%s', (sql, rule, what) => {
    const refused = refusalOf(sql);
    expect(refused.rule).toBe(rule);
    expect(refused.message).toContain(what);
    expect(refused.message).toContain(
      'external port "sales_external" answers only SELECT of COUNT(*), COUNT(column), SUM(measure), AVG(measure) over one of public.orders (group by: status, region; sum/avg: amount)',
    );
  });
});

test('an accepted aggregate becomes bounded, clamped SQL over the declared domains, in one exact text', () => {
  const query = read(
    "SELECT o.status, count(*), sum(amount) AS total, avg(amount) FROM orders o WHERE o.customer_id <> 42 AND region IN ('EU', 'US') GROUP BY status ORDER BY status DESC",
  );
  expect(groupCount(query)).toBe(2);
  expect(aggregateSql(query)).toBe(
    `WITH pgveil_dp_rows AS (SELECT "o"."customer_id" AS pgveil_unit, "o"."status" AS pgveil_d0, "o"."amount" AS pgveil_x2, "o"."amount" AS pgveil_x3 FROM "public"."orders" AS "o" WHERE (o.customer_id <> 42 AND region IN ('EU', 'US')) AND "o"."status"::text IN (E'placed', E'shipped')), ` +
      `pgveil_dp_bounded AS (SELECT *, row_number() OVER (PARTITION BY pgveil_unit ORDER BY random()) AS pgveil_rank FROM pgveil_dp_rows), ` +
      `pgveil_dp_groups AS MATERIALIZED (SELECT pgveil_d0::text AS pgveil_d0, count(*)::text AS pgveil_a1, coalesce(sum(round(LEAST(GREATEST(pgveil_x2, 0), 1000)::numeric * 100)), 0)::text AS pgveil_a2, coalesce(sum(round(LEAST(GREATEST(pgveil_x3, 0), 1000)::numeric * 100)), 0)::text || '/' || count(pgveil_x3)::text AS pgveil_a3 FROM pgveil_dp_bounded WHERE pgveil_rank <= 3 GROUP BY pgveil_d0) ` +
      `SELECT pgveil_domain.d0 AS "status", pgveil_domain.pgveil_group::text || ':' || coalesce(g.pgveil_a1, '0') AS "count", pgveil_domain.pgveil_group::text || ':' || coalesce(g.pgveil_a2, '0') AS "total", pgveil_domain.pgveil_group::text || ':' || coalesce(g.pgveil_a3, '0/0') AS "avg" ` +
      `FROM (VALUES (E'placed', 0, 0), (E'shipped', 1, 1)) AS pgveil_domain(d0, pgveil_order0, pgveil_group) LEFT JOIN pgveil_dp_groups AS g ON g.pgveil_d0 = pgveil_domain.d0 ORDER BY pgveil_domain.d0 DESC, pgveil_domain.pgveil_order0`,
  );
  // Four noisy aggregates (AVG is two) share epsilon 1: each gets 1/4. Count sensitivity 3 rows,
  // sum sensitivity 3 x 1000.00 = 300000 hundredths: scale = sensitivity x 4.
  expect(answerColumns(query, decimalToRational(1))).toEqual([
    { kind: 'dimension' },
    { kind: 'count', noise: { t: 12n, s: 1n } },
    { kind: 'sum', noise: { t: 1_200_000n, s: 1n }, decimals: 2 },
    {
      kind: 'avg',
      sumNoise: { t: 1_200_000n, s: 1n },
      countNoise: { t: 12n, s: 1n },
      decimals: 2,
      lower: 0,
      upper: 1000,
    },
  ]);
});

test('a domain value with a quote is a string literal, not SQL', () => {
  const sql = aggregateSql(read('SELECT region, count(*) FROM orders GROUP BY region'));
  expect(sql).toContain(`(VALUES (E'EU', 0, 0), (E'O\\'Neil', 1, 1))`);
});
