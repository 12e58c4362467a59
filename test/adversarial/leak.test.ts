/**
 * Every leak case through pgveil as the restricted analyst: refused, or answered without a canary.
 * That an answer is also the correctly masked one is checked in leak-oracle.test.ts.
 */
import type { Client } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';
import { VIEW_SQL } from '../support/view-fixtures';
import { CANARY_SQL, leakedCanaries } from './canaries';
import { LEAK_CASES } from './leak-statements';
import { expectNoLeak, LEAK_RUNS } from './leak-runs';

let stack: Stack;
let analyst: Client;
const seen: string[] = [];

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

const runs = LEAK_RUNS;

test('there are at least 150 leak runs across both protocols', () => {
  expect(runs.length).toBeGreaterThanOrEqual(150);
});

describe.each(runs)('%s', (_title, leakCase, mode) => {
  test('no canary reaches the analyst', () => expectNoLeak(analyst, leakCase, mode, seen));
});
