/**
 * Differential: every statement of test/fixtures/corpus returns through the rewrite exactly what it
 * returns directly when no policy applies (TPC-H, psql's catalog queries, pgJDBC's metadata queries).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { staticPolicy } from '../support/static-policy';
import { TPCH_SQL } from '../support/tpch';
import { rewrite } from '../../rewriter';

const CORPUS = join(__dirname, '../fixtures/corpus');
const load = (file: string): Array<{ id: string; sql: string }> =>
  JSON.parse(readFileSync(join(CORPUS, file), 'utf8')) as Array<{ id: string; sql: string }>;
const noPolicy = staticPolicy({});

let demo: DemoProduct;
let customersOid = 0;
beforeAll(async () => {
  demo = await createDemoProduct('rw_corpus', TPCH_SQL);
  customersOid = Number((await demo.client.query("SELECT 'public.customers'::regclass::oid AS oid")).rows[0].oid);
});
afterAll(() => demo.stop());

const cases = [...load('tpch.json'), ...load('psql-catalog.json'), ...load('pgjdbc.json')];

test('the corpus is all there', () => {
  expect(cases.length).toBe(53);
});

test.each(cases.map((c) => [c.id, c.sql] as const))('%s returns the same through the rewrite', async (id, text) => {
  const sql = text.replace(/'16384'/g, `'${customersOid}'`);
  const searchPath = id.startsWith('tpch') ? ['tpch', 'public'] : ['$user', 'public'];
  const outcome = rewrite(sql, demo.context(noPolicy, {}, searchPath));
  if (outcome.kind !== 'plan') throw new Error(`refused: ${outcome.message}`);
  await demo.client.query('BEGIN');
  try {
    await demo.client.query(`SET LOCAL search_path = ${searchPath.map((s) => `"${s}"`).join(', ')}`);
    // pgJDBC's prepared statement carries a parameter: bind the same value both ways.
    const params = sql.includes('$1') ? [3] : undefined;
    const direct = await demo.client.query(sql, params);
    const rewritten = await demo.client.query(outcome.sql, params);
    const rows = (r: typeof direct): unknown[] => (Array.isArray(r) ? r.flatMap((x: typeof direct) => x.rows) : r.rows);
    expect(rows(rewritten)).toEqual(rows(direct));
  } finally {
    await demo.client.query('ROLLBACK');
  }
});
