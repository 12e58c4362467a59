/**
 * A change of decision reaches statements prepared and cursors opened before it. A grant of PII
 * clearance (Redis), its revocation, and a policy reload each apply to the next Execute of a
 * named statement (node-postgres), of a SQL PREPARE, and of a statement prepared once and executed
 * many times as pgJDBC does past its prepareThreshold; prepared statements are prepared again
 * upstream without the client noticing. A cursor or portal opened under a decision that no longer
 * holds is refused at its next FETCH or Execute.
 */
import { join } from 'node:path';
import Redis from 'ioredis';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Client } from 'pg';
import * as write from '../../proxy/protocol/message-writer';
import { RawClient } from '../support/raw-client';
import { LineCommands } from '../support/line-commands';
import { deletePrefix, REDIS_URL, testKeyPrefix } from '../support/redis';
import { startStack, type Stack } from '../support/pgveil-stack';
import { decodeFields } from '../../proxy/pg-error';

const prefix = testKeyPrefix('e2e-decision-changes');
const MASKED = 'c********@example.com';
/** Customer 3's e-mail as the steward sees it (the analyst's first EU row). */
let RAW = '';
let stack: Stack;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  stack = await startStack('decision_changes', { redisPrefix: prefix });
  const steward = await stack.connect('steward');
  RAW = (await steward.query('SELECT email FROM customers WHERE id = 3')).rows[0].email as string;
  await steward.end();
});
afterAll(async () => {
  await stack.stop();
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

const grantKey = `${prefix}grant:analyst:clearance:pii`;
/** Attributes are refreshed every 100 ms in the stack; wait for a few refreshes. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 400));
async function grant(): Promise<void> {
  await redis.set(grantKey, '1', 'EX', 3600);
  await settle();
}
async function revoke(): Promise<void> {
  await redis.del(grantKey);
  await settle();
}

async function withAnalyst(body: (analyst: Client) => Promise<void>): Promise<void> {
  const analyst = await stack.connect('analyst');
  try {
    await body(analyst);
  } finally {
    await redis.del(grantKey);
    await analyst.end();
  }
}

test('the raw e-mail is one the mask hides', () => {
  expect(RAW).toMatch(/^c.+@example\.com$/);
  expect(RAW).not.toBe(MASKED);
});

test('node-postgres named statement: re-prepared on a grant and on its revocation', async () => {
  await withAnalyst(async (analyst) => {
    const named = async (): Promise<unknown> =>
      (await analyst.query({ name: 'email_of', text: 'SELECT email FROM customers WHERE id = $1', values: [3] }))
        .rows[0]?.email;
    expect(await named()).toBe(MASKED);
    await grant();
    expect(await named()).toBe(RAW);
    await revoke();
    expect(await named()).toBe(MASKED);
    // The name is still prepared upstream exactly once: a second Parse of it would have failed.
    expect(await named()).toBe(MASKED);
  });
});

test('SQL PREPARE / EXECUTE: re-prepared on a revocation, and the audit names the rules that decided', async () => {
  await withAnalyst(async (analyst) => {
    await grant();
    await analyst.query('PREPARE p AS SELECT email FROM customers WHERE id = $1');
    expect((await analyst.query('EXECUTE p(3)')).rows).toEqual([{ email: RAW }]);
    await revoke();
    expect((await analyst.query('EXECUTE p(3)')).rows).toEqual([{ email: MASKED }]);
    expect((await analyst.query('EXECUTE p(3)')).rows).toEqual([{ email: MASKED }]);
    const records = readFileSync(stack.auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { statement: string; rules?: unknown; reasons?: unknown });
    const last = records.filter((r) => r.statement.startsWith('EXECUTE p')).pop();
    expect(JSON.stringify(last)).toContain('mask-pii');
  });
});

test('a policy reload re-prepares a named statement', async () => {
  await withAnalyst(async (analyst) => {
    const named = async (): Promise<unknown> =>
      (await analyst.query({ name: 'email_again', text: 'SELECT email FROM customers WHERE id = $1', values: [3] }))
        .rows[0]?.email;
    expect(await named()).toBe(MASKED);
    const original = readFileSync(stack.policiesFile, 'utf8');
    try {
      writeFileSync(
        stack.policiesFile,
        original.replace('action: { kind: mask_email }', 'action: { kind: constant, value: "reloaded" }'),
      );
      expect(stack.pgveil.policies.reload()).toBe(true);
      expect(await named()).toBe('reloaded');
    } finally {
      writeFileSync(stack.policiesFile, original);
      stack.pgveil.policies.reload();
    }
    expect(await named()).toBe(MASKED);
  });
});

test("a reload that changes a user's attributes in the users file, or removes the user, reaches open sessions", async () => {
  await withAnalyst(async (analyst) => {
    const regions = async (): Promise<unknown> =>
      (await analyst.query('SELECT DISTINCT region FROM customers ORDER BY 1')).rows;
    const named = async (): Promise<unknown> =>
      (
        await analyst.query({
          name: 'regions',
          text: 'SELECT DISTINCT region FROM customers WHERE $1::int = 1',
          values: [1],
        })
      ).rows;
    expect(await regions()).toEqual([{ region: 'EU' }]);
    expect(await named()).toEqual([{ region: 'EU' }]);
    const original = readFileSync(stack.policiesFile, 'utf8');
    try {
      writeFileSync(stack.policiesFile, original.replace('attributes: { region: EU }', 'attributes: { region: US }'));
      expect(stack.pgveil.policies.reload()).toBe(true);
      expect(await regions()).toEqual([{ region: 'US' }]);
      expect(await named()).toEqual([{ region: 'US' }]);
      const users = original.indexOf('  - name: analyst');
      writeFileSync(
        stack.policiesFile,
        original.slice(0, users) + original.slice(original.indexOf('  - name: steward')),
      );
      expect(stack.pgveil.policies.reload()).toBe(true);
      await expect(regions()).rejects.toMatchObject({
        code: '42501',
        message: expect.stringContaining('user "analyst" is no longer in the policy files'),
      });
    } finally {
      writeFileSync(stack.policiesFile, original);
      stack.pgveil.policies.reload();
    }
    expect(await regions()).toEqual([{ region: 'EU' }]);
  });
});

test('a WITH HOLD cursor opened with clearance is refused after the revocation', async () => {
  await withAnalyst(async (analyst) => {
    await grant();
    await analyst.query('DECLARE c CURSOR WITH HOLD FOR SELECT email FROM customers ORDER BY id');
    expect((await analyst.query('FETCH 1 FROM c')).rows).toEqual([{ email: RAW }]);
    // The FETCH's audit record carries the decision of the cursor it reads: the region filter.
    const fetched = readFileSync(stack.auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { statement: string })
      .filter((r) => r.statement.startsWith('FETCH'))
      .pop();
    expect(JSON.stringify(fetched)).toContain('sales-region-rows');
    await revoke();
    await expect(analyst.query('FETCH 1 FROM c')).rejects.toMatchObject({
      code: '42501',
      message: expect.stringContaining('cursor "c" was made under a decision that no longer holds'),
    });
    await expect(analyst.query('MOVE 1 IN c')).rejects.toMatchObject({ code: '42501' });
    await analyst.query('CLOSE c');
    // Declared again under the current decision, it reads masked values.
    await analyst.query('DECLARE c CURSOR WITH HOLD FOR SELECT email FROM customers ORDER BY id');
    expect((await analyst.query('FETCH 1 FROM c')).rows).toEqual([{ email: MASKED }]);
    await analyst.query('CLOSE c');
  });
});

describe('raw protocol, as pgJDBC past prepareThreshold and a portal fetched in pieces', () => {
  const textOf = (body: Buffer): string => {
    const length = body.readInt32BE(2);
    return body.toString('utf8', 6, 6 + length);
  };

  test('a server-prepared statement executed again and again follows a grant and a revocation', async () => {
    const c = await RawClient.session(stack.port, 'demo');
    try {
      c.send(
        Buffer.concat([
          write.parse('S_1', 'SELECT email FROM customers WHERE id = 3', Buffer.from([0, 0])),
          write.frame(0x53, Buffer.alloc(0)),
        ]),
      );
      await c.until('Z');
      const run = async (): Promise<string> => {
        c.send(Buffer.concat([write.bind('', 'S_1'), write.execute('', 0), write.frame(0x53, Buffer.alloc(0))]));
        const frames = await c.until('Z');
        const error = frames.find((f) => f.code === 'E');
        if (error)
          throw new Error(decodeFields(Buffer.concat([Buffer.from('E'), Buffer.alloc(4), error.body])).get('M'));
        // The client sees exactly what one Bind/Execute/Sync answers: nothing of the re-preparation.
        expect(frames.map((f) => f.code).join('')).toBe('2DCZ');
        return textOf(frames.find((f) => f.code === 'D')!.body);
      };
      expect(await run()).toBe(MASKED);
      await grant();
      expect(await run()).toBe(RAW);
      await revoke();
      expect(await run()).toBe(MASKED);
    } finally {
      await redis.del(grantKey);
      c.close();
    }
  });

  test('a portal opened with clearance is refused at its next Execute after the revocation', async () => {
    const c = await RawClient.session(stack.port, 'demo');
    try {
      await grant();
      c.send(Buffer.concat([write.query('BEGIN')]));
      await c.until('Z');
      c.send(
        Buffer.concat([
          write.parse('', 'SELECT email FROM customers ORDER BY id', Buffer.from([0, 0])),
          write.bind('P', ''),
          write.execute('P', 1),
          write.frame(0x53, Buffer.alloc(0)),
        ]),
      );
      const first = await c.until('Z');
      expect(first.map((f) => f.code).join('')).toBe('12DsZ');
      expect(textOf(first.find((f) => f.code === 'D')!.body)).toBe(RAW);
      await revoke();
      c.send(Buffer.concat([write.execute('P', 1), write.frame(0x53, Buffer.alloc(0))]));
      const second = await c.until('Z');
      expect(second.map((f) => f.code).join('')).toBe('EZ');
      const fields = decodeFields(Buffer.concat([Buffer.from('E'), Buffer.alloc(4), second[0]!.body]));
      expect(fields.get('C')).toBe('42501');
      expect(fields.get('M')).toContain('portal "P" was made under a decision that no longer holds');
      expect(fields.get('M')).not.toContain('pgveil refused');
    } finally {
      await redis.del(grantKey);
      c.close();
    }
  });

  test('a portal bound and held open with Flush (no Sync) is checked again at its Execute', async () => {
    const c = await RawClient.session(stack.port, 'demo');
    try {
      await grant();
      c.send(
        Buffer.concat([
          write.parse('', 'SELECT email FROM customers ORDER BY id', Buffer.from([0, 0])),
          write.bind('', ''),
          write.frame(0x48, Buffer.alloc(0)),
        ]),
      );
      expect((await c.next())?.code).toBe('1');
      expect((await c.next())?.code).toBe('2');
      await revoke();
      c.send(Buffer.concat([write.execute('', 1), write.frame(0x53, Buffer.alloc(0))]));
      const frames = await c.until('Z');
      expect(frames.map((f) => f.code).join('')).toBe('EZ');
      expect(decodeFields(Buffer.concat([Buffer.from('E'), Buffer.alloc(4), frames[0]!.body])).get('C')).toBe('42501');
    } finally {
      await redis.del(grantKey);
      c.close();
    }
  });
});

describe('one namespace upstream for SQL and protocol-level prepared statements', () => {
  test('a SQL EXECUTE of a statement prepared by Parse is checked too, and refused when stale', async () => {
    await withAnalyst(async (analyst) => {
      await grant();
      expect(
        (await analyst.query({ name: 'by_parse', text: 'SELECT email FROM customers WHERE id = $1', values: [3] }))
          .rows,
      ).toEqual([{ email: RAW }]);
      expect((await analyst.query('EXECUTE by_parse(3)')).rows).toEqual([{ email: RAW }]);
      await revoke();
      await expect(analyst.query('EXECUTE by_parse(3)')).rejects.toMatchObject({
        code: '42501',
        message: expect.stringContaining(
          'prepared statement "by_parse" was made under a decision that no longer holds',
        ),
      });
    });
  });

  test('a protocol Bind of a statement made by SQL PREPARE is refused, so no portal runs unaudited', async () => {
    const c = await RawClient.session(stack.port, 'demo');
    try {
      c.send(write.query('PREPARE sqlp AS SELECT email FROM customers WHERE id = 3'));
      await c.until('Z');
      c.send(Buffer.concat([write.bind('', 'sqlp'), write.execute('', 0), write.frame(0x53, Buffer.alloc(0))]));
      const frames = await c.until('Z');
      expect(frames.map((f) => f.code).join('')).toBe('EZ');
      const fields = decodeFields(Buffer.concat([Buffer.from('E'), Buffer.alloc(4), frames[0]!.body]));
      expect([fields.get('C'), fields.get('M')]).toEqual([
        '0A000',
        'binding statement "sqlp", prepared with SQL PREPARE, is not supported through pgveil: run it with EXECUTE',
      ]);
      // EXECUTE still runs it.
      c.send(write.query('EXECUTE sqlp'));
      expect((await c.until('Z')).map((f) => f.code).join('')).toBe('TDCZ');
    } finally {
      c.close();
    }
  });
});

describe('pgJDBC itself', () => {
  /** JdbcDecisionChanges.java through pgveil, one command at a time. */
  const jdbcOn = (port: number): LineCommands =>
    new LineCommands('java', [
      '-cp',
      '/usr/share/java/postgresql.jar',
      join(__dirname, 'clients', 'JdbcDecisionChanges.java'),
      String(port),
      'demo',
    ]);

  test('a server-prepared statement follows a grant and a revocation; a fetch-size cursor opened with clearance is refused after it', async () => {
    const jdbc = jdbcOn(stack.port);
    try {
      expect(await jdbc.line()).toBe('ready');
      expect(await jdbc.send('run')).toBe(MASKED);
      await grant();
      expect(await jdbc.send('run')).toBe(RAW);
      expect(await jdbc.send('open')).toBe(RAW);
      await revoke();
      expect(await jdbc.send('run')).toBe(MASKED);
      expect(await jdbc.send('next')).toMatch(
        /^ERROR 42501 .*portal "C_\d+" was made under a decision that no longer holds/,
      );
    } finally {
      jdbc.close();
      await redis.del(grantKey);
    }
  }, 120_000);
});
