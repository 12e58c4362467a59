/**
 * Every leak case again through a pooled data product with one upstream connection, which the
 * unrestricted steward uses between any two of the analyst's statements: nothing the steward left
 * on the connection (prepared statements of the same text, settings, the unnamed statement)
 * reaches the analyst. The steward runs each case itself first, so that every statement the analyst
 * sends has a twin prepared on the connection under the steward's decision. Each case has sessions
 * of its own: a case that keeps a SQL prepared statement pins the one connection to its session.
 */
import type { Client, QueryConfig } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';
import { pooledPolicy } from '../support/pooled-stack';
import { VIEW_SQL } from '../support/view-fixtures';
import { CANARY_SQL } from './canaries';
import { expectNoLeak, LEAK_RUNS } from './leak-runs';

let stack: Stack;
const seen: string[] = [];

beforeAll(async () => {
  stack = await startStack('leakpool', {
    extraSql: CANARY_SQL + VIEW_SQL,
    policyYaml: pooledPolicy(1, 10000),
  });
});
afterAll(async () => {
  await stack.stop();
});

describe.each(LEAK_RUNS)('%s', (_title, leakCase, mode) => {
  test('no canary reaches the analyst after the steward ran it on the same connection', async () => {
    const steward = await stack.connect('steward');
    steward.on('error', () => undefined);
    const extended = { text: leakCase.sql, queryMode: 'extended' } as unknown as QueryConfig;
    await steward.query(mode === 'extended' ? extended : leakCase.sql).catch(() => undefined);
    await steward.query('ROLLBACK').catch(() => undefined);
    await steward.end();
    const analyst: Client = await stack.connect('analyst');
    analyst.on('notice', (n) => seen.push(JSON.stringify(n)));
    analyst.on('error', () => undefined);
    try {
      await expectNoLeak(analyst, leakCase, mode, seen);
    } finally {
      await analyst.end();
    }
  });
});
