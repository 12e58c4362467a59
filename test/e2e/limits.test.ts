/**
 * Per-user rate limits, row limits, the AST depth and statement size limits: refusals with a SQLSTATE
 * that become security events.
 */
import { startStack, type Stack } from '../support/pgveil-stack';
import { waitForText } from '../support/wait-for-text';
import { RawClient, errorFields } from '../support/raw-client';
import * as write from '../../proxy/protocol/message-writer';

let stack: Stack;
beforeAll(async () => {
  // The steward carries its own row limit as an attribute; the analyst gets the configured default.
  const stewardLimit = (demo: string): string =>
    demo.replace(
      'attributes: { region: "*", clearance: pii }',
      'attributes: { region: "*", clearance: pii, maxRows: "20" }',
    );
  stack = await startStack('limits', {
    policyYaml: stewardLimit,
    configLines: [
      'limits: { startupTimeoutMs: 5000, statementsPerSecond: 5, statementBurst: 10, maxRowsPerStatement: 100, maxMessageBytes: 65536 }',
    ],
  });
});
afterAll(() => stack.stop());

/** The configured burst of 10 at 5 statements per second is back after 2 s; tests start from a full bucket. */
const bucketRefilled = (): Promise<void> => new Promise((r) => setTimeout(r, 2500));

test('beyond its burst a user is rate limited, another user is not, and the limit refills', async () => {
  const analyst = await stack.connect('analyst');
  const steward = await stack.connect('steward');
  try {
    const results = [];
    for (let i = 0; i < 14; i++)
      results.push(
        await analyst.query('SELECT 1').then(
          () => 'ok',
          (e: { code: string }) => e.code,
        ),
      );
    expect(results.slice(0, 10)).toEqual(Array(10).fill('ok'));
    expect(results.slice(10)).toContain('53400');
    expect((await steward.query('SELECT 2 AS other_user')).rows).toEqual([{ other_user: 2 }]);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await analyst.query('SELECT 3 AS refilled')).rows).toEqual([{ refilled: 3 }]);
  } finally {
    await analyst.end();
    await steward.end();
  }
  const events = await waitForText(stack.eventsFile, 'rate limit');
  expect(events).toContain('rate limit of 5 statements per second exceeded for user \\"analyst\\"');
});

test('absurdly nested statements are refused, not crashed on', async () => {
  await bucketRefilled();
  const analyst = await stack.connect('analyst');
  try {
    const deep = `SELECT 1${' + 1'.repeat(3000)}`; // a left-deep expression 3,000 levels down
    const error = (await analyst.query(deep).catch((e: unknown) => e)) as { code?: string };
    expect(['54001', '42601']).toContain(error.code);
    const sub = `SELECT ${'(SELECT '.repeat(400)}email FROM customers${')'.repeat(400)}`;
    const subError = (await analyst.query(sub).catch((e: unknown) => e)) as { code?: string };
    expect(['54001', '42601']).toContain(subError.code);
    expect((await analyst.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
  } finally {
    await analyst.end();
  }
  const events = await waitForText(stack.eventsFile, 'statement nesting exceeds');
  expect(events).toMatch(
    /"kind":"statement_refused".*"message":"statement nesting exceeds \d+ levels".*"reasons":\["ast_depth"\]/,
  );
});

test('a statement larger than the configured maximum ends its session with 08P01 and an event; other sessions go on', async () => {
  await bucketRefilled();
  const bystander = await stack.connect('analyst');
  const c = await RawClient.session(stack.port, 'demo');
  try {
    c.send(write.query(`SELECT '${'x'.repeat(70_000)}'`));
    const frames = await c.until('E');
    const error = errorFields(frames.find((f) => f.code === 'E')!);
    expect(error.get('C')).toBe('08P01');
    expect(error.get('M')).toBe('message of 70015 bytes exceeds the limit of 65536 bytes');
    expect((await bystander.query('SELECT 2 AS alive')).rows).toEqual([{ alive: 2 }]);
  } finally {
    c.close();
    await bystander.end();
  }
  const events = await waitForText(stack.eventsFile, 'exceeds the limit of 65536 bytes');
  expect(events).toMatch(
    /"kind":"protocol_violation".*"message":"message of 70015 bytes exceeds the limit of 65536 bytes"/,
  );
});

test('a statement returning more rows than the principal may receive stops at the limit with 54000', async () => {
  await bucketRefilled();
  const c = await RawClient.session(stack.port, 'demo');
  try {
    c.send(write.query('SELECT id, email FROM customers'));
    const frames = await c.until('Z');
    expect(frames.filter((f) => f.code === 'D')).toHaveLength(100);
    const error = frames.find((f) => f.code === 'E');
    expect(error && errorFields(error).get('C')).toBe('54000');
    expect(error && errorFields(error).get('M')).toBe(
      'statement returned more than 100 rows, the limit for user "analyst"',
    );
    // Under the limit, and afterwards, the session works as before.
    c.send(write.query('SELECT id FROM customers ORDER BY id LIMIT 5'));
    const next = await c.until('Z');
    expect(next.map((f) => f.code).join('')).toBe('TDDDDDCZ');
  } finally {
    c.close();
  }
});

test("a maxRows attribute sets a principal's own limit", async () => {
  const c = await RawClient.session(stack.port, 'demo', 'steward');
  try {
    c.send(write.query('SELECT id FROM customers'));
    const frames = await c.until('Z');
    expect(frames.filter((f) => f.code === 'D')).toHaveLength(20);
    expect(errorFields(frames.find((f) => f.code === 'E')!).get('M')).toBe(
      'statement returned more than 20 rows, the limit for user "steward"',
    );
  } finally {
    c.close();
  }
  const events = await waitForText(stack.eventsFile, 'the limit for user \\"steward\\"');
  expect(events).toMatch(/"kind":"limit_exceeded".*the limit for user \\"steward\\"/);
});
