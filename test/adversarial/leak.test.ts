/**
 * Every leak case through pgveil as the restricted analyst: refused, or answered without a canary.
 * That an answer is also the correctly masked one is checked in leak-oracle.test.ts.
 */
import type { Client, QueryConfig } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';
import { VIEW_SQL } from '../support/view-fixtures';
import { CANARY_SQL, leakedCanaries } from './canaries';
import { LEAK_CASES } from './leak-statements';

let stack: Stack;
let analyst: Client;
let seen: string[] = [];

beforeAll(async () => {
  stack = await startStack('leak', { extraSql: CANARY_SQL + VIEW_SQL });
  analyst = await stack.connect('analyst');
  analyst.on('notice', (n) => seen.push(JSON.stringify(n)));
  analyst.on('error', () => undefined);
});
afterAll(async () => {
  await analyst.end();
  await stack.stop();
});

test('the canaries are really there (for the steward) so the tests can fail', async () => {
  const steward = await stack.connect('steward');
  try {
    const r = await steward.query('SELECT name, ssn FROM customers WHERE id IN (1, 3) ORDER BY id');
    expect(leakedCanaries(JSON.stringify(r.rows))).toEqual(['ZQ7SSN', 'ZQ7NAME']);
  } finally {
    await steward.end();
  }
});

test('there are at least 120 leak cases', () => {
  expect(LEAK_CASES.length).toBeGreaterThanOrEqual(120);
});

// Every case over the simple protocol, and every single statement again over the extended protocol
// (Parse/Bind/Describe/Execute/Sync), where pgveil rewrites at Parse.
const single = (sql: string): boolean => !sql.replace(/;+\s*$/, '').includes(';') || sql.includes("'a'';");
const runs = [
  ...LEAK_CASES.map((c, i) => [`${i + 1} simple ${c.category}: ${c.sql}`, c, 'simple'] as const),
  ...LEAK_CASES.filter((c) => single(c.sql) && !c.sql.startsWith('COPY')).map(
    (c, i) => [`${i + 1} extended ${c.category}: ${c.sql}`, c, 'extended'] as const,
  ),
];

test('there are at least 150 leak runs across both protocols', () => {
  expect(runs.length).toBeGreaterThanOrEqual(150);
});

describe.each(runs)('%s', (_title, leakCase, mode) => {
  test('no canary reaches the analyst', async () => {
    seen = [];
    let answer: string;
    let error: { code?: string; message?: string } | undefined;
    try {
      // node-postgres reads `queryMode` at run time; its typings do not declare it.
      const extended = { text: leakCase.sql, queryMode: 'extended' } as unknown as QueryConfig;
      const result = await analyst.query(mode === 'extended' ? extended : leakCase.sql);
      answer = JSON.stringify(result);
    } catch (e) {
      error = e as { code?: string; message?: string };
      answer = JSON.stringify({ ...(e as object), message: (e as Error).message });
    }
    // Leave any transaction the case opened, so the next case starts clean.
    await analyst.query('ROLLBACK').catch(() => undefined);
    expect(leakedCanaries(answer + seen.join(''))).toEqual([]);
    if (leakCase.refused) expect(error?.code).toBe(leakCase.refused);
  });
});
