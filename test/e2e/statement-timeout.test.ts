/**
 * A per-principal statement time limit: the configured default, overridden by a user's
 * `statementTimeoutMs` attribute. Past it pgveil cancels the statement upstream, answers 57014,
 * raises a limit_exceeded event, and the session goes on.
 */
import { Client } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';
import { waitForText } from '../support/wait-for-text';

let stack: Stack;
beforeAll(async () => {
  // The analyst carries a short limit of its own; the steward gets the configured default.
  const analystLimit = (demo: string): string =>
    demo.replace('attributes: { region: EU }', 'attributes: { region: EU, statementTimeoutMs: "300" }');
  stack = await startStack('statement_timeout', {
    policyYaml: analystLimit,
    configLines: ['limits: { startupTimeoutMs: 5000, statementTimeoutMs: 5000 }'],
  });
});
afterAll(() => stack.stop());

test('past its limit a statement is cancelled upstream and answered 57014; the session goes on', async () => {
  const analyst = await stack.connect('analyst');
  try {
    const started = Date.now();
    await expect(analyst.query('SELECT pg_sleep(10)')).rejects.toMatchObject({
      code: '57014',
      message: 'canceling statement: it ran longer than 300 ms, the limit for user "analyst"',
    });
    // Cancelled, not left running upstream for ten seconds.
    expect(Date.now() - started).toBeLessThan(9000);
    expect((await analyst.query('SELECT 1 AS still_here')).rows).toEqual([{ still_here: 1 }]);
    const backends = new Client(stack.db.config());
    await backends.connect();
    try {
      const sleeping = await backends.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%pg_sleep(10)%' AND state = 'active' AND pid <> pg_backend_pid()",
      );
      expect(sleeping.rows).toEqual([{ n: 0 }]);
    } finally {
      await backends.end();
    }
  } finally {
    await analyst.end();
  }
  const events = await waitForText(stack.eventsFile, 'ran longer than 300 ms');
  expect(events).toContain('"kind":"limit_exceeded"');
});

test('the extended protocol is limited too, and a statement under the limit is not', async () => {
  const analyst = await stack.connect('analyst');
  const steward = await stack.connect('steward');
  try {
    await expect(analyst.query({ text: 'SELECT pg_sleep($1)', values: [10] })).rejects.toMatchObject({ code: '57014' });
    expect((await analyst.query({ text: 'SELECT $1::int AS fine', values: [7] })).rows).toEqual([{ fine: 7 }]);
    // The steward's default of 5 s leaves a one-second statement alone.
    expect((await steward.query('SELECT pg_sleep(1)::text AS slept')).rows).toEqual([{ slept: '' }]);
  } finally {
    await analyst.end();
    await steward.end();
  }
});
