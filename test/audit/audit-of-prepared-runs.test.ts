/**
 * Issue 13 point 3: an EXECUTE, a FETCH and a protocol portal's Execute are recorded with the
 * decision of the statement they run (rules, every reason with the masked column and the row
 * filter, the substituted relations), not as an `allowed` statement with no rules, so a reviewer can
 * tell from the record alone why the answer was masked and filtered: on a session with its own
 * upstream connection and under transaction pooling alike.
 */
import { readFileSync } from 'node:fs';
import * as write from '../../proxy/protocol/message-writer';
import { RawClient } from '../support/raw-client';
import { startStack, type Stack } from '../support/pgveil-stack';

const MASKED = 'c********@example.com';
/** The data product's upstream lent per transaction (proxy/pool/) instead of one connection per session. */
const pooled = (demo: string): string =>
  demo.replace(
    'passwordFile: service.password',
    'passwordFile: service.password\n      pool: { mode: transaction, size: 2, waitTimeoutMs: 5000 }',
  );
let stack: Stack;

interface AuditRecord {
  readonly statement: string;
  readonly protocol: string;
  readonly decision: string;
  readonly rules: string[];
  readonly reasons: unknown[];
  readonly relations: string[];
  readonly rows: number;
  readonly principal: { readonly attributes: Record<string, unknown> };
}

const records = (): AuditRecord[] =>
  readFileSync(stack.auditFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditRecord);

/** The analyst's decision on customers' email: masked by mask-pii, rows of the analyst's region only. */
const EMAIL_DECISION = {
  decision: 'rewritten',
  rules: ['mask-pii', 'sales-region-rows'],
  relations: ['public.customers'],
  principal: expect.objectContaining({ attributes: { region: 'EU' } }),
};
const MASK_REASON = { rule: 'mask-pii', scope: 'global', column: 'email', effect: 'mask_email' };
const FILTER_REASON = { rule: 'sales-region-rows', scope: 'domain', column: null, effect: 'filter rows' };

function expectEmailDecision(record: AuditRecord | undefined, protocol: string, rows: number): void {
  expect(record).toMatchObject({ ...EMAIL_DECISION, protocol, rows });
  expect(record!.reasons).toContainEqual(MASK_REASON);
  expect(record!.reasons).toContainEqual(FILTER_REASON);
}

describe.each([
  ['its own upstream connection', (demo: string) => demo],
  ['transaction pooling', pooled],
])('a session on %s', (_mode, policyYaml) => {
  beforeAll(async () => {
    stack = await startStack('audit_prepared', { policyYaml });
    expect(readFileSync(stack.policiesFile, 'utf8').includes('mode: transaction')).toBe(policyYaml === pooled);
  });
  afterAll(() => stack.stop());

  test('SQL EXECUTE of a prepared statement carries the decision of the statement it runs', async () => {
    const analyst = await stack.connect('analyst');
    try {
      await analyst.query('PREPARE audited_email AS SELECT email FROM customers WHERE id = $1');
      expect((await analyst.query('EXECUTE audited_email(3)')).rows).toEqual([{ email: MASKED }]);
    } finally {
      await analyst.end();
    }
    const executed = records().filter((r) => r.statement.startsWith('EXECUTE audited_email'));
    expect(executed).toHaveLength(1);
    expectEmailDecision(executed[0], 'simple', 1);
  });

  test('FETCH from a cursor carries the decision of the cursor it reads', async () => {
    const analyst = await stack.connect('analyst');
    try {
      await analyst.query('BEGIN');
      await analyst.query('DECLARE audited_cursor CURSOR FOR SELECT email FROM customers ORDER BY id');
      expect((await analyst.query('FETCH 2 FROM audited_cursor')).rows).toHaveLength(2);
      expect((await analyst.query('FETCH 1 FROM audited_cursor')).rows).toHaveLength(1);
      await analyst.query('COMMIT');
    } finally {
      await analyst.end();
    }
    const fetched = records().filter((r) => r.statement.startsWith('FETCH') && r.statement.includes('audited_cursor'));
    expect(fetched.map((r) => r.rows)).toEqual([2, 1]);
    for (const record of fetched) expectEmailDecision(record, 'simple', record.rows);
  });

  test('a portal of a named statement, bound again and executed in pieces, carries its statement decision each time', async () => {
    const textOf = (body: Buffer): string => body.toString('utf8', 6, 6 + body.readInt32BE(2));
    const c = await RawClient.session(stack.port, 'demo');
    try {
      c.send(
        Buffer.concat([
          write.parse(
            'audited_named',
            'SELECT email AS audited_portal FROM customers ORDER BY id',
            Buffer.from([0, 0]),
          ),
          write.frame(0x53, Buffer.alloc(0)),
        ]),
      );
      expect((await c.until('Z')).map((f) => f.code).join('')).toBe('1Z');
      c.send(Buffer.concat([write.query('BEGIN')]));
      await c.until('Z');
      // The Parse came long before: only Bind and Execute name the statement now.
      c.send(
        Buffer.concat([
          write.bind('P', 'audited_named'),
          write.execute('P', 2),
          write.execute('P', 1),
          write.frame(0x53, Buffer.alloc(0)),
        ]),
      );
      const frames = await c.until('Z');
      expect(frames.map((f) => f.code).join('')).toBe('2DDsDsZ');
      for (const row of frames.filter((f) => f.code === 'D')) expect(textOf(row.body)).toMatch(/^c\*+@example\.com$/);
      c.send(Buffer.concat([write.query('COMMIT')]));
      await c.until('Z');
    } finally {
      c.close();
    }
    const executed = records().filter((r) => r.statement.includes('audited_portal'));
    expect(executed.length).toBeGreaterThan(0);
    expect(executed.reduce((n, r) => n + r.rows, 0)).toBe(3);
    for (const record of executed) expectEmailDecision(record, 'extended', record.rows);
  });
});
