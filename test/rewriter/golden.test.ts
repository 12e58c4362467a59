import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { analystPolicy } from '../support/static-policy';
import { GOLDEN } from './golden-cases';
import { rewrite } from '../../rewriter';
import { VIEW_SQL } from '../support/view-fixtures';
import { parseTree } from '../../rewriter/sql-parser';
import { bodyOf } from '../../rewriter/ast';
import { printedAsRead } from '../support/printed-as-read';
import { setConfigCall } from '../../rewriter/set-config-call';

function splicedQuery(sql: string): boolean {
  const statements = parseTree(sql);
  const select = bodyOf(statements[0]?.stmt, 'SelectStmt');
  return statements.length === 1 && select !== undefined && setConfigCall(select) === undefined;
}

let demo: DemoProduct;
beforeAll(async () => {
  demo = await createDemoProduct('rw_golden', VIEW_SQL);
});
afterAll(() => demo.stop());

test('there are at least 60 golden cases', () => {
  expect(GOLDEN.length).toBeGreaterThanOrEqual(60);
});

describe.each(GOLDEN.map((g) => [g.name, g] as const))('%s', (_name, golden) => {
  test('rewrites exactly as expected, and runs on PostgreSQL', async () => {
    const searchPath = 'searchPath' in golden && golden.searchPath ? golden.searchPath : ['$user', 'public'];
    const outcome = rewrite(golden.sql, demo.context(analystPolicy, {}, searchPath));
    if ('refused' in golden) {
      expect(outcome).toMatchObject({
        kind: 'refusal',
        sqlstate: golden.refused.sqlstate,
        reasons: [golden.refused.rule],
      });
      return;
    }
    if (outcome.kind !== 'plan') throw new Error(`refused: ${outcome.message}`);
    // A query's text keeps the analyst's own spelling around the derived tables (rewriter/splice.ts):
    // what must be exactly as expected is the statement PostgreSQL reads from it, printed. Other
    // statements are printed by pgveil, exactly.
    expect(splicedQuery(golden.sql) ? printedAsRead(outcome.sql) : outcome.sql).toBe(golden.expected);
    if (golden.execute === false) return;
    await demo.client.query('BEGIN');
    try {
      await demo.client.query(outcome.sql);
    } finally {
      await demo.client.query('ROLLBACK');
    }
  });
});
