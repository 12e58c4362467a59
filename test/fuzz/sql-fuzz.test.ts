/**
 * Random SQL built from a small grammar around the protected tables, run as the analyst through
 * pgveil against planted canaries: answers or refusals, never a canary, never a crash.
 */
import fc from 'fast-check';
import { startStack, type Stack } from '../support/pgveil-stack';
import { CANARY_SQL, leakedCanaries } from '../adversarial/canaries';
import { FUZZ_SCALE } from './arbitraries';

const column = fc.constantFrom(
  'name',
  'email',
  'ssn',
  'phone',
  'region',
  'birth_date::text',
  'id::text',
  'c.name',
  'c.ssn',
);
const expression = fc.oneof(
  column,
  column.map((c) => `upper(${c})`),
  column.map((c) => `substr(${c}, 1, 4)`),
  column.map((c) => `md5(${c})`),
  column.map((c) => `${c} || '|'`),
  column.map((c) => `coalesce(${c}, 'x')`),
  column.map((c) => `(SELECT max(${c.replace('c.', '')}) FROM customers)`),
  fc.constant('row_to_json(c)::text'),
);
const predicate = fc.oneof(
  column.map((c) => `${c} = 'ZQ7NAME-US'`),
  column.map((c) => `${c} LIKE 'ZQ7%'`),
  column.map((c) => `${c} > 'Z'`),
  column.map((c) => `1 / (CASE WHEN ${c} LIKE 'ZQ7%' THEN 0 ELSE 1 END) = 1`),
  column.map((c) => `length(${c}) > 3`),
  fc.constant(`region IN ('US', 'APAC')`),
  fc.constant(`id IN (1, 2, 3)`),
  fc.constant(`EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.card_number LIKE 'ZQ7%')`),
  column.map((c) => `${c}::int > 0`),
);
const statement = fc
  .record({
    select: fc.array(expression, { minLength: 1, maxLength: 3 }),
    where: fc.option(fc.array(predicate, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    join: fc.boolean(),
    shape: fc.constantFrom('plain', 'distinct', 'group', 'order', 'union', 'cte', 'lateral'),
    or: fc.boolean(),
  })
  .map(({ select, where, join, shape, or }) => {
    const from = join ? 'customers c JOIN orders o ON o.customer_id = c.id' : 'customers c';
    const filter = where ? ` WHERE ${where.join(or ? ' OR ' : ' AND ')}` : '';
    const list = select.join(', ');
    switch (shape) {
      case 'distinct':
        return `SELECT DISTINCT ${list} FROM ${from}${filter}`;
      case 'group':
        return `SELECT ${select[0]}, count(*) FROM ${from}${filter} GROUP BY 1`;
      case 'order':
        return `SELECT ${list} FROM ${from}${filter} ORDER BY 1 LIMIT 5`;
      case 'union':
        return `SELECT ${select[0]} FROM ${from}${filter} UNION SELECT ${select[0]} FROM customers c`;
      case 'cte':
        return `WITH customers AS (SELECT * FROM public.customers) SELECT ${list} FROM ${from}${filter}`;
      case 'lateral':
        return `SELECT x.* FROM orders o, LATERAL (SELECT ${list} FROM customers c WHERE c.id = o.customer_id) x LIMIT 5`;
      default:
        return `SELECT ${list} FROM ${from}${filter}`;
    }
  });

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('sqlfuzz', { extraSql: CANARY_SQL });
});
afterAll(() => stack.stop());

test(
  '300 generated statements: no canary in any answer or error',
  async () => {
    const analyst = await stack.connect('analyst');
    analyst.on('error', () => undefined);
    const notices: string[] = [];
    analyst.on('notice', (n) => notices.push(JSON.stringify(n)));
    let answered = 0;
    let refusedOrFailed = 0;
    try {
      for (const sql of fc.sample(statement, {
        numRuns: FUZZ_SCALE * 300,
        seed: Number(process.env.PGVEIL_FUZZ_SEED ?? 42),
      })) {
        let text: string;
        try {
          text = JSON.stringify((await analyst.query(sql)).rows);
          answered++;
        } catch (error) {
          text = JSON.stringify({ ...(error as object), message: (error as Error).message });
          refusedOrFailed++;
        }
        const leaked = leakedCanaries(text + notices.join(''));
        if (leaked.length > 0) throw new Error(`canary ${leaked.join(', ')} leaked by: ${sql}\n${text.slice(0, 500)}`);
      }
    } finally {
      await analyst.end();
    }
    // Both paths were exercised: this is not a suite of refusals only.
    expect(answered).toBeGreaterThan(100);
    expect(refusedOrFailed).toBeGreaterThan(10);
  },
  FUZZ_SCALE * 120_000,
);
