/**
 * The read-back's comparison (readsBackAsTree, rewriter/tree-equality.ts) reads libpg-query's JSON
 * text against the tree the rules were applied to. It must accept exactly what the comparison it
 * replaced accepted (both JSON texts with their position fields cut out by a regular expression,
 * then compared), and never a text whose tree differs from the intended one: checked on the corpus
 * and on thousands of trees changed at random. The parse on the read-back parser's own instance
 * (parseQuery) must answer as libpg-query's parseSync does, trees and errors alike.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSync } from 'libpg-query';
import { initRewriter } from '../../rewriter';
import { parseQuery, parseToJson } from '../../rewriter/read-back-parser';
import { readsBackAsTree, sameTree } from '../../rewriter/tree-equality';

const CORPUS = join(__dirname, '../fixtures/corpus');
const load = (file: string): string[] =>
  (JSON.parse(readFileSync(join(CORPUS, file), 'utf8')) as Array<{ sql: string }>).map((c) => c.sql);

const STATEMENTS = [
  ...load('tpch.json'),
  ...load('psql-catalog.json'),
  ...load('pgjdbc.json'),
  `SELECT a AS "x<y>", 'it''s \\ "ok" é 😀 \t' FROM t WHERE b < 5 AND c IN (1, 2) AND d::int[] = ARRAY[1]`,
  'select 1.5, -3, 0, true, false, null, $1, 123456789012345678901234 limit 2 offset 0',
  "SELECT E'\\x01\\u0001\\n', U&'\\0041', $$dollar \"quoted\"$$, B'101', X'ff'",
  'SELECT "location", "stmt_len" AS location FROM "list_start" WHERE "name_location" = \'"location":1\'',
  'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r',
  "SELECT id FROM customers c JOIN LATERAL (SELECT 1) x ON true WHERE c.email LIKE '%@%' ORDER BY 1 DESC NULLS LAST",
];

/** The comparison readsBackAsTree replaced, as it was. */
const POSITION_KEYS =
  'location|name_location|list_start|list_end|rexpr_list_start|rexpr_list_end|stmt_location|stmt_len';
const POSITION_FIELD = new RegExp(`,"(?:${POSITION_KEYS})":-?\\d+|"(?:${POSITION_KEYS})":-?\\d+,?`, 'g');
const withoutPositions = (json: string): string => json.replace(POSITION_FIELD, '');
const spelled = (tree: unknown): string =>
  JSON.stringify(tree).replace(/[<>]/g, (c) => (c === '<' ? '\\u003c' : '\\u003e'));
function replacedCheck(json: string, stmt: unknown): boolean {
  const read = withoutPositions(json);
  const head = read.indexOf('"stmts":[{"stmt":');
  return head >= 0 && read.slice(head + '"stmts":[{"stmt":'.length) === `${withoutPositions(spelled(stmt))}}]}`;
}

/** A deterministic stream of numbers below n. */
function numbers(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
}

type Json = Record<string, unknown> | unknown[];

function containers(value: unknown, out: Json[] = []): Json[] {
  if (value !== null && typeof value === 'object') {
    out.push(value as Json);
    for (const item of Object.values(value)) containers(item, out);
  }
  return out;
}

/** `tree` with one change at random: a field removed, added, changed or moved; an element more; a list reversed. */
function changed(tree: unknown, random: (n: number) => number): unknown {
  const copy = structuredClone(tree);
  const all = containers(copy);
  const target = all[random(all.length)]! as Record<string, unknown>;
  const keys = Object.keys(target);
  const key = keys.length > 0 ? keys[random(keys.length)]! : undefined;
  const value = key === undefined ? undefined : target[key];
  switch (random(10)) {
    case 0:
      if (key !== undefined) delete target[key];
      break;
    case 1:
      if (Array.isArray(target)) target.push(target[0]);
      else target.extra = 1;
      break;
    case 2:
      if (key !== undefined) target[key] = typeof value === 'string' ? `${value}<` : 'x';
      break;
    case 3:
      if (key !== undefined) target[key] = typeof value === 'number' ? value + 1 : 0;
      break;
    case 4:
      if (Array.isArray(target) && target.length > 1) target.reverse();
      break;
    case 5:
      if (key !== undefined) target[key] = undefined;
      break;
    case 6:
      if (key !== undefined && !Array.isArray(target)) {
        delete target[key];
        target[key] = value;
      }
      break;
    case 7:
      if (key !== undefined) target[key] = false;
      break;
    case 8:
      if (!Array.isArray(target)) target.location = 7;
      break;
    default:
      if (key !== undefined && typeof value === 'string') target[key] = value.slice(0, -1);
  }
  return copy;
}

beforeAll(() => initRewriter());

test('every statement reads back as its own tree, positions aside', () => {
  for (const sql of STATEMENTS) {
    const json = parseToJson(sql)!;
    const stmt = (JSON.parse(json) as { stmts: Array<{ stmt: unknown }> }).stmts[0]!.stmt;
    expect(readsBackAsTree(json, stmt)).toBe(true);
    expect(replacedCheck(json, stmt)).toBe(true);
  }
});

test('changed trees: the same answer as the comparison it replaced, and never equal where the trees differ', () => {
  const random = numbers(20261201);
  let accepted = 0;
  let refused = 0;
  for (const sql of STATEMENTS) {
    const json = parseToJson(sql)!;
    const read = (JSON.parse(json) as { stmts: Array<{ stmt: unknown }> }).stmts[0]!.stmt;
    for (let i = 0; i < 80; i++) {
      const intended = changed(read, random);
      const answer = readsBackAsTree(json, intended);
      expect([sql, i, answer]).toEqual([sql, i, replacedCheck(json, intended)]);
      if (answer) {
        expect(sameTree(read, intended)).toBe(true);
        accepted++;
      } else refused++;
    }
  }
  // Both kinds of answers were exercised.
  expect(accepted).toBeGreaterThan(200);
  expect(refused).toBeGreaterThan(1000);
});

test('a second statement, text after the statement, or another statement is a difference', () => {
  const one = parseToJson('SELECT 1')!;
  const stmt = (JSON.parse(one) as { stmts: Array<{ stmt: unknown }> }).stmts[0]!.stmt;
  expect(readsBackAsTree(parseToJson('SELECT 1; SELECT 1')!, stmt)).toBe(false);
  expect(readsBackAsTree(`${one} `, stmt)).toBe(false);
  expect(readsBackAsTree(parseToJson('SELECT 2')!, stmt)).toBe(false);
  expect(readsBackAsTree(parseToJson('SELECT 1 AS "1"')!, stmt)).toBe(false);
  expect(readsBackAsTree(parseToJson('SELECT 1')!, stmt)).toBe(true);
});

test('a lone surrogate is read as the bytes Node.js sends upstream for it (U+FFFD), not as emscripten encodes it', () => {
  const sql = "SELECT '\ud800'";
  const sent = Buffer.from(sql, 'utf8').toString('utf8');
  expect(parseQuery(sql)).toEqual(parseSync(sent));
  expect(JSON.stringify(parseQuery(sql))).toContain('\ufffd');
});

test('parseQuery answers as parseSync: the same trees, the same errors', () => {
  for (const sql of [...STATEMENTS, 'SELECT 1; SELECT 2', '  SELECT 1 -- comment é\n']) {
    expect(parseQuery(sql)).toEqual(parseSync(sql));
  }
  for (const sql of ['SELEC 1', 'SELECT (', "SELECT 'é' FROM FROM", '']) {
    const ours = (() => {
      try {
        parseQuery(sql);
      } catch (error) {
        return error as { message: string; sqlDetails?: { cursorPosition?: number } };
      }
      throw new Error(`parsed: ${sql}`);
    })();
    const theirs = (() => {
      try {
        parseSync(sql);
      } catch (error) {
        return error as { message: string; sqlDetails?: { cursorPosition?: number } };
      }
      throw new Error(`parsed: ${sql}`);
    })();
    expect([ours.message, ours.sqlDetails?.cursorPosition]).toEqual([
      theirs.message,
      theirs.sqlDetails?.cursorPosition,
    ]);
  }
});
