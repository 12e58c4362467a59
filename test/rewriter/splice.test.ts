/**
 * A query goes upstream as the analyst's own text with the derived tables and qualified names
 * spliced in at the parser's locations (rewriter/splice.ts), and only when that text reads back as
 * the substituted tree; anything else is printed from the tree, never sent as written.
 */
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { analystPolicy } from '../support/static-policy';
import { customers } from './golden-cases';
import { rewrite } from '../../rewriter';
import { RelationSubstitution } from '../../rewriter/relation-substitution';
import { splicedQuery, type SpliceEdit } from '../../rewriter/splice';
import { deparseStatement, parseTree } from '../../rewriter/sql-parser';

let demo: DemoProduct;
beforeAll(async () => {
  demo = await createDemoProduct('rw_splice');
});
afterAll(() => demo.stop());

/** The golden derived table of customers, as splice.ts writes it: `(SELECT ...) AS "alias"`. */
function derived(alias: string, kept?: readonly string[], only = false): string {
  const golden = /^\( (.*) \) AS [^ ]+$/.exec(customers('x', false, only, kept))!;
  return `(${golden[1]!}) AS ${alias}`;
}

const sent = (sql: string): string => {
  const outcome = rewrite(sql, demo.context(analystPolicy, {}, ['$user', 'public']));
  if (outcome.kind !== 'plan') throw new Error(`refused: ${outcome.message}`);
  return outcome.sql;
};

const CASES: ReadonlyArray<{ name: string; sql: string; expected: string }> = [
  {
    name: 'the name in a comment and in a string stays as written',
    sql: "SELECT email FROM customers -- customers\nWHERE name <> 'customers'",
    expected: `SELECT email FROM ${derived('customers', ['name', 'email'])} -- customers\nWHERE name <> 'customers'`,
  },
  {
    name: 'case folding and an alias with AS',
    sql: 'select C.email from Customers as C',
    expected: `select C.email from ${derived('c', ['email'])}`,
  },
  {
    name: 'quoted, schema-qualified with spaces around the dot, column aliases',
    sql: 'SELECT x.a FROM "public" . "customers" x(a)',
    expected: `SELECT x.a FROM ${derived('x(a)')}`,
  },
  {
    name: 'a schema-qualified column reference loses its schema',
    sql: 'SELECT public.customers.ssn FROM public.customers',
    expected: `SELECT customers.ssn FROM ${derived('customers', ['ssn'])}`,
  },
  {
    name: 'an unprotected relation is schema-qualified in place',
    sql: 'SELECT relname FROM pg_class /* pg_class */ LIMIT 1',
    expected: 'SELECT relname FROM pg_catalog.pg_class /* pg_class */ LIMIT 1',
  },
  {
    name: 'ONLY goes into the derived table',
    sql: 'SELECT id FROM ONLY customers',
    expected: `SELECT id FROM ${derived('customers', ['id'], true)}`,
  },
  {
    name: 'text before the edit that is not ASCII',
    sql: "SELECT 'é' AS e, id FROM customers",
    expected: `SELECT 'é' AS e, id FROM ${derived('customers', ['id'])}`,
  },
  {
    name: 'parameters stay as written',
    sql: 'SELECT email FROM customers WHERE id = $1',
    expected: `SELECT email FROM ${derived('customers', ['id', 'email'])} WHERE id = $1`,
  },
];

test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, { sql, expected }) => {
  expect(sent(sql)).toBe(expected);
  await demo.client.query('BEGIN');
  try {
    // Runs as the service account would run it (parameters given a value).
    await demo.client.query(expected.includes('$1') ? { text: expected, values: [1] } : expected);
  } finally {
    await demo.client.query('ROLLBACK');
  }
});

test('what splice.ts cannot place (TABLESAMPLE moves into the derived table) is printed from the tree', () => {
  const sql = 'SELECT id FROM customers TABLESAMPLE BERNOULLI (50) REPEATABLE (1)';
  const out = sent(sql);
  expect(out).toBe(deparseStatement(parseTree(out)[0]!.stmt));
  expect(out).toContain('FROM public.customers TABLESAMPLE bernoulli (50) REPEATABLE (1)');
});

describe('the read-back refuses a splice that does not give the substituted tree', () => {
  function editsOf(sql: string): { parsed: ReturnType<typeof parseTree>[0]; edits: readonly SpliceEdit[] } {
    const [parsed] = parseTree(sql);
    const substitution = new RelationSubstitution(demo.context(analystPolicy, {}, ['$user', 'public']));
    const stmt = substitution.finish(substitution.query(parsed!.stmt));
    return { parsed: { ...parsed!, stmt }, edits: substitution.spliceEdits! };
  }

  test("the analyst's tree is left as it was parsed", () => {
    const sql = 'SELECT public.customers.ssn FROM public.customers JOIN pg_class ON true';
    const [parsed] = parseTree(sql);
    const before = JSON.stringify(parsed!.stmt);
    const substitution = new RelationSubstitution(demo.context(analystPolicy, {}, ['$user', 'public']));
    const stmt = substitution.finish(substitution.query(parsed!.stmt));
    expect(JSON.stringify(parsed!.stmt)).toBe(before);
    expect(stmt).not.toBe(parsed!.stmt);
  });

  test('the right edits read back', () => {
    const sql = "SELECT 'customers' AS t, id FROM customers";
    const { parsed, edits } = editsOf(sql);
    expect(splicedQuery(sql, parsed, edits)).toBe(`SELECT 'customers' AS t, id FROM ${derived('customers', ['id'])}`);
  });

  test('an edit at the same name inside a string literal does not', () => {
    const sql = "SELECT 'customers' AS t, id FROM customers";
    const { parsed, edits } = editsOf(sql);
    // The name is spelled there too, so the splice itself succeeds: only the read-back can tell.
    const misplaced = edits.map((e) => ({ ...e, location: sql.indexOf('customers') }));
    expect(splicedQuery(sql, parsed, misplaced)).toBeUndefined();
  });

  test('a missing edit does not', () => {
    const sql = 'SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id';
    const { parsed, edits } = editsOf(sql);
    expect(edits).toHaveLength(2);
    expect(splicedQuery(sql, parsed, edits.slice(1))).toBeUndefined();
    expect(splicedQuery(sql, parsed, edits)).toContain('JOIN (SELECT');
  });

  test('an edit whose name is not at its location is not spliced', () => {
    const sql = 'SELECT id FROM customers';
    const { parsed, edits } = editsOf(sql);
    expect(
      splicedQuery(
        sql,
        parsed,
        edits.map((e) => ({ ...e, location: e.location - 5 })),
      ),
    ).toBeUndefined();
  });
});
