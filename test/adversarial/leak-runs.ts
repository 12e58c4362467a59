/**
 * The leak runs shared by the unpooled and the pooled suites: every case over the simple protocol,
 * and every single statement again over the extended protocol (Parse/Bind/Describe/Execute/Sync),
 * where pgveil rewrites at Parse.
 */
import type { Client, QueryConfig } from 'pg';
import { leakedCanaries } from './canaries';
import { LEAK_CASES, type LeakCase } from './leak-statements';

const single = (sql: string): boolean => !sql.replace(/;+\s*$/, '').includes(';') || sql.includes("'a'';");

export const LEAK_RUNS = [
  ...LEAK_CASES.map((c, i) => [`${i + 1} simple ${c.category}: ${c.sql}`, c, 'simple'] as const),
  ...LEAK_CASES.filter((c) => single(c.sql) && !c.sql.startsWith('COPY')).map(
    (c, i) => [`${i + 1} extended ${c.category}: ${c.sql}`, c, 'extended'] as const,
  ),
];

/** Runs one case as `analyst` and checks that no canary reached it (answer, error or notices). */
export async function expectNoLeak(
  analyst: Client,
  leakCase: LeakCase,
  mode: 'simple' | 'extended',
  notices: string[],
): Promise<void> {
  notices.length = 0;
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
  expect(leakedCanaries(answer + notices.join(''))).toEqual([]);
  if (leakCase.refused) expect(error?.code).toBe(leakCase.refused);
}
