/**
 * The literal-insensitive rewrite cache: statements that differ only in literals share a template,
 * and what comes out is the statement the full rewrite of the same text would produce.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { analystPolicy } from '../support/static-policy';
import { TPCH_SQL } from '../support/tpch';
import { GOLDEN } from './golden-cases';
import { LEAK_CASES } from '../adversarial/leak-statements';
import { rewrite, RewriteCache, type RewriteContext, type RewriteOutcome } from '../../rewriter';
import { literalsOf, normalizedText, sameStatement, splitAtParams } from '../../rewriter/literal-template';

const CORPUS = join(__dirname, '../fixtures/corpus');
const load = (file: string): Array<{ id: string; sql: string }> =>
  JSON.parse(readFileSync(join(CORPUS, file), 'utf8')) as Array<{ id: string; sql: string }>;

let demo: DemoProduct;
let ctx: RewriteContext;
beforeAll(async () => {
  demo = await createDemoProduct('rw_literal', TPCH_SQL);
  ctx = demo.context(analystPolicy);
});
afterAll(() => demo.stop());

const full = (sql: string): RewriteOutcome => rewrite(sql, ctx);

test('a point query with another literal is served from the template, with the literal put back exactly', () => {
  const cache = new RewriteCache();
  const first = cache.get('SELECT id, email FROM customers WHERE id = 4711', ctx, full);
  const second = cache.get("SELECT id, email FROM customers WHERE id = 42 AND name = 'O''Brien; DROP'", ctx, full);
  const third = cache.get('SELECT id, email FROM customers WHERE id = 42', ctx, full);
  expect(cache.literalHits).toBe(1);
  expect(cache.misses).toBe(2);
  expect(first.kind === 'plan' && first.sql).toBe(
    (full('SELECT id, email FROM customers WHERE id = 4711') as { sql: string }).sql,
  );
  expect(
    second.kind === 'plan' &&
      sameStatement(
        second.sql,
        (full("SELECT id, email FROM customers WHERE id = 42 AND name = 'O''Brien; DROP'") as { sql: string }).sql,
      ),
  ).toBe(true);
  // The template's text with the literal in the parameter's place, spaces around it.
  const expected = (full('SELECT id, email FROM customers WHERE id = $1') as { sql: string }).sql.replace('$1', ' 42 ');
  expect(third).toMatchObject({
    kind: 'plan',
    sql: expected,
    audit: { statement: 'SELECT id, email FROM customers WHERE id = $1' },
  });
  expect(third.kind === 'plan' && third.audit?.rewritten).toBe(normalizedText((first as { sql: string }).sql));
});

test('literals are recovered only when the text splits around the normalized text in exactly one way', () => {
  const { segments } = splitAtParams('SELECT * FROM t WHERE a = $1 AND b = $2');
  expect(literalsOf("SELECT * FROM t WHERE a = 'x' AND b = 5", segments)).toEqual(["'x'", '5']);
  // The first literal contains the text that follows it: two splits fit, so none is trusted.
  expect(literalsOf("SELECT * FROM t WHERE a = ' AND b = ' AND b = 5", segments)).toBeUndefined();
  expect(literalsOf('SELECT * FROM u WHERE a = 1 AND b = 5', segments)).toBeUndefined();
  // Identifiers may contain $: only PostgreSQL's scanner says where parameters are.
  expect(splitAtParams('SELECT a$1 FROM t WHERE b = $1').segments).toEqual(['SELECT a$1 FROM t WHERE b = ', '']);
});

test('an ambiguous statement is rewritten in full, never from the template', () => {
  const cache = new RewriteCache();
  cache.get("SELECT email FROM customers WHERE name = 'a' AND region = 'EU'", ctx, full);
  const tricky = "SELECT email FROM customers WHERE name = ' AND region = ' AND region = 'EU'";
  const outcome = cache.get(tricky, ctx, full);
  expect(cache.literalHits).toBe(0);
  expect(outcome).toEqual(full(tricky));
});

test('statements that are not one SELECT, or whose normalized text does not parse, get no template', () => {
  const cache = new RewriteCache();
  for (const sql of [
    "SET application_name = 'a'",
    "SET application_name = 'b'",
    "SELECT U&'a' UESCAPE '!' FROM customers",
    "SELECT U&'b' UESCAPE '!' FROM customers",
    'SELECT 1; SELECT 2',
    'SELECT 3; SELECT 4',
  ]) {
    cache.get(sql, ctx, full);
  }
  expect(cache.literalHits).toBe(0);
  expect(cache.misses).toBe(6);
});

test('a refusal is never a template: each refused statement is rewritten in full', () => {
  const cache = new RewriteCache();
  const a = cache.get("SELECT * FROM pg_stats WHERE attname = 'ssn'", ctx, full);
  const b = cache.get("SELECT * FROM pg_stats WHERE attname = 'email'", ctx, full);
  expect([a.kind, b.kind]).toEqual(['refusal', 'refusal']);
  expect(cache.literalHits).toBe(0);
});

/** The same statement with every literal changed (numbers, strings, booleans). */
function withOtherLiterals(sql: string): string | undefined {
  const normalized = normalizedText(sql);
  if (normalized === undefined || normalized === sql) return undefined;
  const { segments } = splitAtParams(normalized);
  const literals = literalsOf(sql, segments);
  if (!literals) return undefined;
  const other = (l: string): string => {
    if (/^-?\d+$/.test(l)) return String(Number(l) + 7);
    if (/^-?\d*\.\d+$/.test(l)) return `${l}1`;
    if (l.startsWith("'")) return "'pgveil''s other'";
    if (/^true$/i.test(l)) return 'false';
    if (/^false$/i.test(l)) return 'true';
    return l;
  };
  return segments[0] + literals.map((l, i) => other(l) + segments[i + 1]!).join('');
}

const statements = [
  ...GOLDEN.map((g) => [g.name, g.sql] as const),
  ...LEAK_CASES.map((c, i) => [`leak ${i + 1}`, c.sql] as const),
  ...[...load('tpch.json'), ...load('psql-catalog.json'), ...load('pgjdbc.json')].map((c) => [c.id, c.sql] as const),
];

test('over the golden, leak and corpus statements, the template gives what the full rewrite gives, and is used', () => {
  let served = 0;
  const mismatches: string[] = [];
  for (const [name, sql] of statements) {
    const variant = withOtherLiterals(sql);
    if (!variant) continue;
    const cache = new RewriteCache();
    cache.get(sql, ctx, full);
    const hitsBefore = cache.literalHits;
    const cached = cache.get(variant, ctx, full);
    const direct = full(variant);
    if (cache.literalHits > hitsBefore) served++;
    const same =
      cached.kind === 'plan' && direct.kind === 'plan'
        ? sameStatement(cached.sql, direct.sql) && JSON.stringify(cached.reasons) === JSON.stringify(direct.reasons)
        : cached.kind === direct.kind &&
          cached.kind === 'refusal' &&
          direct.kind === 'refusal' &&
          cached.sqlstate === direct.sqlstate;
    if (!same) mismatches.push(`${name}: ${variant}`);
  }
  expect(mismatches).toEqual([]);
  expect(served).toBeGreaterThanOrEqual(40);
});
