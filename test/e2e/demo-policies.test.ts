/** The demo contract end to end: analyst sees masked EU rows, steward sees raw values, all audited. */
import { readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startStack, type Stack } from '../support/pgveil-stack';
import { waitForText } from '../support/wait-for-text';
import { verifyAuditFiles } from '../../audit';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('e2e_demo');
});
afterAll(() => stack.stop());

test('the analyst sees only EU customers, with PII masked, through psql', async () => {
  const { stdout } = await promisify(execFile)(
    'psql',
    [
      '-X',
      '-At',
      '-h',
      '127.0.0.1',
      '-p',
      String(stack.port),
      '-U',
      'analyst',
      '-d',
      'demo',
      '-c',
      'SELECT id, email, phone, birth_date, region FROM customers ORDER BY id LIMIT 2',
    ],
    { env: { ...process.env, PGPASSWORD: 'analyst' } },
  );
  expect(stdout).toBe(
    '3|c********@example.com|*******0111|1950-01-01|EU\n6|c********@example.com|*******0222|1950-01-01|EU\n',
  );
});

test('hashes are deterministic (joinable) and never the raw value', async () => {
  const analyst = await stack.connect('analyst');
  const steward = await stack.connect('steward');
  try {
    const raw = (await steward.query('SELECT ssn FROM customers WHERE id = 3')).rows[0].ssn as string;
    expect(raw).toBe('757-03-0093');
    const a = await analyst.query(
      'SELECT c1.ssn AS h1, c2.ssn AS h2 FROM customers c1 JOIN customers c2 ON c1.ssn = c2.ssn WHERE c1.id = 3',
    );
    expect(a.rows).toHaveLength(1);
    expect(a.rows[0].h1).toMatch(/^[0-9a-f]{64}$/);
    expect(a.rows[0].h1).toBe(a.rows[0].h2);
    expect((await analyst.query(`SELECT count(*)::int AS n FROM customers WHERE ssn = '757-03-0093'`)).rows).toEqual([
      { n: 0 },
    ]);
  } finally {
    await analyst.end();
    await steward.end();
  }
});

test('row filter and masks hold in joins, aggregates, sub-queries and whole-row references', async () => {
  const analyst = await stack.connect('analyst');
  try {
    expect((await analyst.query('SELECT region, count(*)::int AS n FROM customers GROUP BY region')).rows).toEqual([
      { region: 'EU', n: 333 },
    ]);
    const joined = await analyst.query(
      'SELECT DISTINCT c.region FROM orders o JOIN customers c ON c.id = o.customer_id',
    );
    expect(joined.rows).toEqual([{ region: 'EU' }]);
    const whole = await analyst.query('SELECT row_to_json(c)::text AS j FROM customers c WHERE id = 3');
    expect(whole.rows[0].j).toContain('"email":"c********@example.com"');
    expect(whole.rows[0].j).not.toContain('757-03-0093');
    const cards = await analyst.query('SELECT card_number FROM orders WHERE id = 1');
    expect(cards.rows).toEqual([{ card_number: '***************0003' }]);
    const hidden = await analyst.query(
      `SELECT count(*)::int AS n FROM customers WHERE region = 'US' OR id IN (SELECT id FROM customers WHERE region = 'APAC')`,
    );
    expect(hidden.rows).toEqual([{ n: 0 }]);
  } finally {
    await analyst.end();
  }
});

test('the steward sees raw values of every region', async () => {
  const steward = await stack.connect('steward');
  try {
    const r = await steward.query('SELECT region, count(*)::int AS n FROM customers GROUP BY region ORDER BY region');
    expect(r.rows).toEqual([
      { region: 'APAC', n: 333 },
      { region: 'EU', n: 333 },
      { region: 'US', n: 334 },
    ]);
    expect((await steward.query('SELECT email FROM customers WHERE id = 1')).rows).toEqual([
      { email: 'customer1@example.com' },
    ]);
  } finally {
    await steward.end();
  }
});

test('refusals are errors with a SQLSTATE, become security events, and every statement is audited in a valid chain', async () => {
  const analyst = await stack.connect('analyst');
  try {
    await expect(analyst.query('DELETE FROM customers')).rejects.toMatchObject({
      code: '42501',
      message: 'delete statements are not allowed through pgveil',
    });
    await expect(
      analyst.query(`SELECT query_to_xml('select ssn from customers', true, true, '')`),
    ).rejects.toMatchObject({ code: '42501' });
    expect((await analyst.query('SELECT 1 AS still_usable')).rows).toEqual([{ still_usable: 1 }]);
  } finally {
    await analyst.end();
  }
  const records = readFileSync(stack.auditFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const refused = records.filter((r) => r.decision === 'refused').map((r) => r.statement);
  expect(refused).toEqual(expect.arrayContaining(['DELETE FROM customers']));
  expect(records.some((r) => r.decision === 'rewritten' && r.user === 'analyst')).toBe(true);
  // Normalized by default: the literal SSN of an earlier test is not in the log.
  expect(readFileSync(stack.auditFile, 'utf8')).not.toContain('757-03-0093');
  const text = await waitForText(stack.eventsFile, 'delete statements');
  const events = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; message: string });
  expect(events.filter((e) => e.kind === 'statement_refused').map((e) => e.message)).toContain(
    'delete statements are not allowed through pgveil',
  );
  expect(verifyAuditFiles([stack.auditFile], undefined)).toEqual({
    ok: true,
    records: records.length,
    lastHash: records[records.length - 1]!.hash,
  });
});

test('a policy change applies to the next statement; an invalid one is refused and the running version stays', async () => {
  const analyst = await stack.connect('analyst');
  try {
    const before = stack.pgveil.policies.current().version;
    const original = readFileSync(stack.policiesFile, 'utf8');
    writeFileSync(stack.policiesFile, original.replace('action: { kind: mask_email }', 'action: { kind: "null" }'));
    expect(stack.pgveil.policies.reload()).toBe(true);
    expect((await analyst.query('SELECT email FROM customers WHERE id = 3')).rows).toEqual([{ email: null }]);
    writeFileSync(stack.policiesFile, original.replace('action: { kind: mask_email }', 'action: { kind: sparkle }'));
    expect(stack.pgveil.policies.reload()).toBe(false);
    expect(stack.pgveil.policies.current().version).not.toBe(before);
    const events = await waitForText(stack.eventsFile, 'policy_reload_failed');
    expect(events).toContain('"kind":"policy_reload_failed"');
    expect(events).toMatch(
      /policies\.yaml:\d+: globalPolicies\.0\.columns\.0\.action\.kind: must be equal to one of the allowed values/,
    );
    expect((await analyst.query('SELECT email FROM customers WHERE id = 3')).rows).toEqual([{ email: null }]);
    // Caught half-written, or overwritten with garbage: not YAML at all.
    const nullVersion = stack.pgveil.policies.current().version;
    for (const corrupt of [
      original.slice(0, Math.floor(original.length / 2)) + '\n  - { id: [',
      '\u0000\u00ff\u00fe: : ]\t[',
    ]) {
      writeFileSync(stack.policiesFile, corrupt);
      expect(stack.pgveil.policies.reload()).toBe(false);
      expect(stack.pgveil.policies.current().version).toBe(nullVersion);
      expect((await analyst.query('SELECT email FROM customers WHERE id = 3')).rows).toEqual([{ email: null }]);
    }
    // Saved by an editor: the file watcher picks the change up by itself.
    writeFileSync(stack.policiesFile, original);
    const deadline = Date.now() + 5000;
    while (stack.pgveil.policies.current().version !== before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(stack.pgveil.policies.current().version).toBe(before);
    expect((await analyst.query('SELECT email FROM customers WHERE id = 3')).rows).toEqual([
      { email: 'c********@example.com' },
    ]);
  } finally {
    await analyst.end();
  }
});
