/**
 * Issue #12 point 9 against the forms of "a statement" statement-timeout.test.ts does not send: a
 * sleeping statement after a quick one in one Query, a cursor whose FETCH does the work (in a
 * transaction block), and COPY TO STDOUT (psql). Each is cancelled upstream past the analyst's
 * limit (300 ms), answered 57014, raises limit_exceeded, and the session goes on.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';

const LIMIT_MESSAGE = 'canceling statement: it ran longer than 300 ms, the limit for user "analyst"';
let stack: Stack;
beforeAll(async () => {
  const analystLimit = (demo: string): string =>
    demo.replace('attributes: { region: EU }', 'attributes: { region: EU, statementTimeoutMs: "300" }');
  stack = await startStack('statement_timeout_forms', { policyYaml: analystLimit });
});
afterAll(() => stack.stop());

/** Backends still sleeping upstream (the marker keeps other tests' statements out). */
async function stillSleeping(marker: string): Promise<number> {
  const backends = new Client(stack.db.config());
  await backends.connect();
  try {
    const { rows } = await backends.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND state = 'active' AND pid <> pg_backend_pid()",
      [marker],
    );
    return rows[0].n as number;
  } finally {
    await backends.end();
  }
}

test('the sleeping second statement of one Query is cancelled past the limit', async () => {
  const analyst = await stack.connect('analyst');
  try {
    await expect(analyst.query('SELECT 1; SELECT pg_sleep(10) AS second_of_two')).rejects.toMatchObject({
      code: '57014',
      message: LIMIT_MESSAGE,
    });
    expect((await analyst.query('SELECT 1 AS still_here')).rows).toEqual([{ still_here: 1 }]);
    expect(await stillSleeping('AS second_of_two')).toBe(0);
  } finally {
    await analyst.end();
  }
});

test('a FETCH that runs the sleeping query of a cursor, in a transaction block', async () => {
  const analyst = await stack.connect('analyst');
  try {
    await analyst.query('BEGIN');
    await analyst.query('DECLARE slow CURSOR FOR SELECT pg_sleep(10) AS fetched FROM generate_series(1, 3)');
    await expect(analyst.query('FETCH 1 FROM slow')).rejects.toMatchObject({ code: '57014', message: LIMIT_MESSAGE });
    await analyst.query('ROLLBACK');
    expect((await analyst.query('SELECT 1 AS still_here')).rows).toEqual([{ still_here: 1 }]);
    expect(await stillSleeping('AS fetched')).toBe(0);
  } finally {
    await analyst.end();
  }
});

test('COPY TO STDOUT through psql', async () => {
  const run = promisify(execFile)(
    'psql',
    [
      '-X',
      '-h',
      '127.0.0.1',
      '-p',
      String(stack.port),
      '-U',
      'analyst',
      '-d',
      'demo',
      '-c',
      'COPY (SELECT pg_sleep(10) AS copied) TO STDOUT',
    ],
    { env: { ...process.env, PGPASSWORD: 'analyst' } },
  );
  await expect(run).rejects.toMatchObject({ stderr: expect.stringContaining(LIMIT_MESSAGE) });
  expect(await stillSleeping('AS copied')).toBe(0);
});

test('each of the three cancellations raised a limit_exceeded event', async () => {
  const limitEvents = (): Array<{ kind: string; message: string }> =>
    readFileSync(stack.eventsFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; message: string })
      .filter((e) => e.kind === 'limit_exceeded');
  // The file sink writes in the background: wait for the third, then count exactly.
  for (let i = 0; i < 250 && limitEvents().length < 3; i++) await new Promise((r) => setTimeout(r, 20));
  expect(limitEvents().map((e) => e.message)).toEqual(
    Array(3).fill('statement ran longer than 300 ms, the limit for user "analyst"'),
  );
});
