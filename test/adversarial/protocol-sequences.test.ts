/**
 * Adversarial frontend message sequences, as raw frames, from the restricted analyst against a full
 * pgveil with canaries planted. For every sequence: no canary byte reaches the client; each answer is
 * either the expected refusal (SQLSTATE asserted) or correctly masked (values asserted against the
 * secure-view reference of oracle.ts); afterwards the session either still answers or was closed
 * with an ErrorResponse; and a bystander session on the same proxy keeps working.
 *
 * Single malformed messages (short lengths, unknown types, truncated Parse) are in
 * test/proxy/raw-frames.test.ts; random sequences in test/fuzz/protocol-fuzz.test.ts.
 */
import { Client } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';
import { RawClient, errorFields, type BackendFrame } from '../support/raw-client';
import { FrontendCode } from '../../proxy/protocol/message-codes';
import * as write from '../../proxy/protocol/message-writer';
import { CANARY_SQL, leakedCanaries } from './canaries';
import { REFERENCE_VIEWS } from './oracle';
import { waitForText } from '../support/wait-for-text';
import { dataRow, frameText, msg, rowDescription } from './wire';

const ROW_LIMIT = 500;

let stack: Stack;
let admin: Client;
let bystander: Client;
/** Secure-view answers (every value as text), and a few facts the sequences need. */
let ref: {
  id3: { name: string; email: string; ssn: string; phone: string };
  id6: { ssn: string };
  customersById: string[][];
  maxSsn: string;
  keyedHashOid: number;
};

const asText = { getTypeParser: () => (v: string) => v };
async function reference(sql: string): Promise<string[][]> {
  return (await admin.query({ text: sql, rowMode: 'array', types: asText })).rows as string[][];
}

beforeAll(async () => {
  stack = await startStack('protoseq', {
    extraSql: CANARY_SQL,
    configLines: [`limits: { startupTimeoutMs: 5000, maxRowsPerStatement: ${ROW_LIMIT} }`],
  });
  admin = new Client(stack.db.config());
  await admin.connect();
  await admin.query(REFERENCE_VIEWS);
  const [id3] = await reference('SELECT name, email, ssn, phone FROM reference.customers WHERE id = 3');
  const [id6] = await reference('SELECT ssn FROM reference.customers WHERE id = 6');
  ref = {
    id3: { name: id3![0]!, email: id3![1]!, ssn: id3![2]!, phone: id3![3]! },
    id6: { ssn: id6![0]! },
    customersById: await reference('SELECT id, email FROM reference.customers ORDER BY id'),
    maxSsn: (await reference('SELECT max(ssn) FROM reference.customers'))[0]![0]!,
    keyedHashOid: Number((await reference("SELECT 'pgveil.keyed_hash(text)'::regprocedure::oid"))[0]![0]),
  };
  expect(ref.id3.ssn).toMatch(/^[0-9a-f]{64}$/);
  bystander = await stack.connect('analyst');
});

afterAll(async () => {
  await bystander.end();
  await admin.end();
  await stack.stop();
});

/** A raw analyst session that remembers every frame it received, for the canary check. */
class Sequence {
  readonly seen: BackendFrame[] = [];
  constructor(readonly client: RawClient) {}

  send(...messages: Buffer[]): void {
    this.client.send(Buffer.concat(messages));
  }

  /** Frames up to the next ReadyForQuery. */
  async z(): Promise<BackendFrame[]> {
    const frames = await this.client.until('Z');
    this.seen.push(...frames);
    return frames;
  }

  async until(code: string): Promise<BackendFrame[]> {
    const frames = await this.client.until(code);
    this.seen.push(...frames);
    return frames;
  }

  /** Whatever arrives within `ms` (for Flush, where no ReadyForQuery comes). */
  async quiet(ms = 300): Promise<BackendFrame[]> {
    const frames: BackendFrame[] = [];
    for (;;) {
      const f = await this.client.next(ms).catch(() => undefined);
      if (!f) break;
      frames.push(f);
    }
    this.seen.push(...frames);
    return frames;
  }

  async toClose(): Promise<BackendFrame[]> {
    const frames = await this.client.drainToClose();
    this.seen.push(...frames);
    return frames;
  }
}

async function open(): Promise<Sequence> {
  return new Sequence(await RawClient.session(stack.port, 'demo'));
}

const codes = (frames: readonly BackendFrame[]): string => frames.map((f) => f.code).join('');
const rows = (frames: readonly BackendFrame[]): Array<Array<string | null>> =>
  frames.filter((f) => f.code === 'D').map((f) => dataRow(f.body));
const errors = (frames: readonly BackendFrame[]): string[] =>
  frames.filter((f) => f.code === 'E').map((f) => errorFields(f).get('C') ?? '?');
const errorMessages = (frames: readonly BackendFrame[]): string[] =>
  frames.filter((f) => f.code === 'E').map((f) => errorFields(f).get('M') ?? '');
const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
/** A Query frame whose body is exactly `body` (the caller supplies the terminator). */
const rawQuery = (body: Buffer): Buffer => write.frame(FrontendCode.Query, body);
/** Parse/Bind/Execute of one unnamed statement, text results. */
const run = (sql: string, params: string[] = []): Buffer[] => [
  msg.parse('', sql),
  msg.bind('', '', params),
  msg.execute(''),
];

/**
 * The end of every sequence: no canary in anything the client received; the session either still
 * answers a query or was closed with a FATAL ErrorResponse carrying `closedWith`; a bystander
 * session on the same proxy still gets its (masked, filtered) answer.
 */
async function settle(s: Sequence, end: 'usable' | { closedWith: string } | 'terminated'): Promise<void> {
  try {
    if (end === 'usable') {
      s.send(msg.query('SELECT 42 AS alive'));
      const frames = await s.z();
      expect(codes(frames)).toBe('TDCZ');
      expect(rows(frames)).toEqual([['42']]);
    } else if (end === 'terminated') {
      expect(await s.toClose()).toEqual([]);
      expect(s.client.closed).toBe(true);
    } else {
      const frames = await s.toClose();
      const last = frames.filter((f) => f.code === 'E').pop();
      expect(last && errorFields(last).get('S')).toBe('FATAL');
      expect(last && errorFields(last).get('C')).toBe(end.closedWith);
      expect(s.client.closed).toBe(true);
    }
    expect(leakedCanaries(frameText(s.seen))).toEqual([]);
  } finally {
    s.client.close();
  }
  const b = await bystander.query('SELECT count(*)::int AS n, max(ssn) AS top FROM customers');
  expect(b.rows).toEqual([{ n: 333, top: ref.maxSsn }]);
}

describe('NUL bytes and invalid UTF-8', () => {
  test('01 a Query with a NUL byte between two statements is a protocol violation', async () => {
    const s = await open();
    s.send(rawQuery(bytes('SELECT 1', [0], 'SELECT ssn, email FROM public.customers', [0])));
    await settle(s, { closedWith: '08P01' });
  });

  test('02 a Query with a NUL byte inside a string literal is a protocol violation', async () => {
    const s = await open();
    s.send(rawQuery(bytes("SELECT name FROM customers WHERE name = 'x", [0], "' OR region = 'US'", [0])));
    await settle(s, { closedWith: '08P01' });
  });

  test('03 a Parse whose SQL text holds a NUL byte is a protocol violation', async () => {
    const s = await open();
    s.send(write.frame(FrontendCode.Parse, bytes('s', [0], 'SELECT 1', [0], 'SELECT ssn FROM customers', [0], [0, 0])));
    await settle(s, { closedWith: '08P01' });
  });

  test('04 invalid UTF-8 in a Query is refused as PostgreSQL would (22021) or answered masked', async () => {
    const s = await open();
    s.send(rawQuery(bytes("SELECT name, ssn FROM customers WHERE id = 3 AND name <> '", [0xff, 0xfe], "'", [0])));
    const frames = await s.z();
    if (errors(frames).length > 0) expect(errors(frames)).toEqual(['22021']);
    else expect(rows(frames)).toEqual([[ref.id3.name, ref.id3.ssn]]);
    await settle(s, 'usable');
  });

  test('05 an incomplete UTF-8 sequence cannot swallow the quote that closes a literal (the row filter still holds)', async () => {
    const s = await open();
    // If E2 80 ate the quote, the rest would be string content; PostgreSQL's reading ends the literal there.
    s.send(
      rawQuery(
        bytes(
          "SELECT ssn, name FROM customers WHERE id = 3 AND '",
          [0xe2, 0x80],
          "' = '' OR region = 'US' OR id = 1",
          [0],
        ),
      ),
    );
    const frames = await s.z();
    if (errors(frames).length > 0) expect(errors(frames)).toEqual(['22021']);
    else expect(rows(frames)).toEqual([]);
    await settle(s, 'usable');
  });

  test('06 invalid UTF-8 in the SQL text of a Parse: 22021 or a masked answer', async () => {
    const s = await open();
    s.send(
      write.frame(
        FrontendCode.Parse,
        bytes('', [0], 'SELECT email, phone FROM customers WHERE id = 3 -- ', [0xff, 0xc3], [0], [0, 0]),
      ),
      msg.bind('', ''),
      msg.execute(''),
      msg.sync(),
    );
    const frames = await s.z();
    if (errors(frames).length > 0) expect(errors(frames)).toEqual(['22021']);
    else expect(rows(frames)).toEqual([[ref.id3.email, ref.id3.phone]]);
    await settle(s, 'usable');
  });

  test('07 invalid UTF-8 in a statement name never reaches a statement', async () => {
    const s = await open();
    s.send(
      write.frame(FrontendCode.Parse, bytes([0xff, 0], 'SELECT ssn FROM customers WHERE id = 3', [0, 0, 0])),
      write.frame(FrontendCode.Bind, bytes([0, 0xff, 0], [0, 0, 0, 0, 0, 0])),
      msg.execute(''),
      msg.sync(),
    );
    const frames = await s.z();
    expect(rows(frames)).toEqual([]);
    expect(errors(frames)).toEqual(['22021']);
    await settle(s, 'usable');
  });
});

describe('statement and portal names', () => {
  test('08 a name closed and re-parsed with a protected statement answers the new statement, masked', async () => {
    const s = await open();
    s.send(msg.parse('s1', 'SELECT 1 AS one'), msg.bind('', 's1'), msg.execute(''), msg.sync());
    expect(rows(await s.z())).toEqual([['1']]);
    s.send(
      msg.closeStatement('s1'),
      msg.parse('s1', 'SELECT ssn, email FROM customers WHERE id = 3'),
      msg.bind('', 's1'),
      msg.execute(''),
      msg.sync(),
    );
    const frames = await s.z();
    expect(codes(frames)).toBe('312DCZ');
    expect(rows(frames)).toEqual([[ref.id3.ssn, ref.id3.email]]);
    await settle(s, 'usable');
  });

  test('09 a name parsed twice without Close: the second Parse fails (42P05), the first statement stays and is what the audit records', async () => {
    const s = await open();
    s.send(msg.parse('s1', 'SELECT 1 AS seq09_one'), msg.sync());
    expect(codes(await s.z())).toBe('1Z');
    s.send(msg.parse('s1', 'SELECT ssn AS seq09_ssn FROM customers WHERE id = 3'), msg.sync());
    expect(errors(await s.z())).toEqual(['42P05']);
    s.send(msg.bind('', 's1'), msg.execute(''), msg.sync());
    expect(rows(await s.z())).toEqual([['1']]);
    await settle(s, 'usable');
    // The analyst cannot choose what the audit says ran: the statement upstream kept is recorded.
    const audit = await waitForText(stack.auditFile, 'seq09_one');
    expect(
      audit
        .split('\n')
        .filter((l) => l.includes('seq09_one'))
        .map((l) => JSON.parse(l).rows),
    ).toEqual([1]);
    expect(audit).not.toContain('seq09_ssn');
  });

  test('10 a refused re-Parse of a named statement leaves the earlier (masked) statement in place', async () => {
    const s = await open();
    s.send(msg.parse('s1', 'SELECT id, ssn FROM customers WHERE id IN (3, 6) ORDER BY id'), msg.sync());
    expect(codes(await s.z())).toBe('1Z');
    s.send(msg.parse('s1', 'SELECT * FROM pg_stats'), msg.sync());
    const refusedParse = await s.z();
    expect(errors(refusedParse)).toEqual(['42501']);
    expect(errorMessages(refusedParse)[0]).toContain('pg_stats');
    s.send(msg.bind('', 's1'), msg.execute(''), msg.sync());
    expect(rows(await s.z())).toEqual([
      ['3', ref.id3.ssn],
      ['6', ref.id6.ssn],
    ]);
    await settle(s, 'usable');
  });

  test('11 a statement kept upstream after a refused re-Parse answers masked, keeps its row limit and is audited as itself', async () => {
    // Found by this suite: pgveil once recorded the refused text under "s1" although upstream kept
    // the earlier statement, so the Execute ran without the row limit and was audited as the
    // refused statement.
    const s = await open();
    s.send(msg.parse('s1', 'SELECT id AS seq11_id, card_number FROM orders'), msg.sync());
    expect(codes(await s.z())).toBe('1Z');
    s.send(msg.parse('s1', 'SELECT * FROM pg_stats'), msg.sync());
    expect(errors(await s.z())).toEqual(['42501']);
    s.send(msg.bind('', 's1'), msg.execute(''), msg.sync());
    const frames = await s.z();
    const answer = rows(frames);
    expect(answer).toHaveLength(ROW_LIMIT);
    expect(errors(frames)).toEqual(['54000']);
    for (const [, card] of answer) expect(card).toMatch(/^\*+\d{4}$/);
    await settle(s, 'usable');
    const audit = await waitForText(stack.auditFile, 'seq11_id');
    const records = audit
      .split('\n')
      .filter((l) => l.includes('seq11_id'))
      .map((l) => JSON.parse(l));
    expect(records.map((r) => [r.decision, r.rows, r.error?.sqlstate])).toEqual([['rewritten', ROW_LIMIT, '54000']]);
  });

  test('12 the unnamed statement replaced between two Binds: each portal keeps its own statement', async () => {
    const s = await open();
    s.send(
      msg.parse('', 'SELECT 1 AS x'),
      msg.bind('p1', ''),
      msg.parse('', 'SELECT ssn FROM customers WHERE id = 3'),
      msg.bind('p2', ''),
      msg.execute('p1'),
      msg.execute('p2'),
      msg.sync(),
    );
    const frames = await s.z();
    expect(codes(frames)).toBe('1212DCDCZ');
    expect(rows(frames)).toEqual([['1'], [ref.id3.ssn]]);
    await settle(s, 'usable');
  });

  test('13 the unnamed statement replaced by a refused one: the pipeline fails, nothing runs, nothing stays prepared', async () => {
    const s = await open();
    s.send(
      msg.parse('', 'SELECT ssn FROM customers WHERE id = 3'),
      msg.bind('p1', ''),
      msg.parse('', 'SELECT * FROM pg_stats'),
      msg.execute('p1'),
      msg.sync(),
    );
    const first = await s.z();
    expect(codes(first)).toBe('12EZ');
    expect(errors(first)).toEqual(['42501']);
    s.send(msg.bind('', ''), msg.execute(''), msg.sync());
    expect(errors(await s.z())).toEqual(['26000']);
    await settle(s, 'usable');
  });

  test('14 Bind to a statement that was refused: 26000, it was never prepared', async () => {
    const s = await open();
    s.send(msg.parse('bad', 'SELECT stavalues1 FROM pg_statistic'), msg.sync());
    expect(errors(await s.z())).toEqual(['42501']);
    s.send(msg.bind('', 'bad'), msg.describePortal(''), msg.execute(''), msg.sync());
    const frames = await s.z();
    expect(codes(frames)).toBe('EZ');
    expect(errors(frames)).toEqual(['26000']);
    await settle(s, 'usable');
  });

  test('15 Describe of a refused statement: the refusal, then 26000; no RowDescription ever', async () => {
    const s = await open();
    s.send(msg.parse('bad', 'SELECT * FROM pg_catalog.pg_stat_activity'), msg.describeStatement('bad'), msg.sync());
    const first = await s.z();
    expect(codes(first)).toBe('EZ');
    expect(errors(first)).toEqual(['42501']);
    s.send(msg.describeStatement('bad'), msg.sync());
    expect(errors(await s.z())).toEqual(['26000']);
    await settle(s, 'usable');
  });

  test("16 Describe of a protected statement reports the secure view's columns and types", async () => {
    const s = await open();
    s.send(msg.parse('', 'SELECT * FROM customers'), msg.bind('', ''), msg.describePortal(''), msg.sync());
    const frames = await s.z();
    expect(codes(frames)).toBe('12TZ');
    const description = frames.find((f) => f.code === 'T')!;
    const types = (body: Buffer): number[] => {
      const out: number[] = [];
      let at = 2;
      for (let i = 0; i < body.readInt16BE(0); i++) {
        at = body.indexOf(0, at) + 1;
        out.push(body.readInt32BE(at + 6));
        at += 18;
      }
      return out;
    };
    const expected = (await admin.query('SELECT * FROM reference.customers LIMIT 0')).fields;
    expect(rowDescription(description.body)).toEqual(expected.map((f) => f.name));
    expect(types(description.body)).toEqual(expected.map((f) => f.dataTypeID));
    await settle(s, 'usable');
  });

  test('17 Execute of a portal after an error before Sync is skipped; after Sync the portal is gone (34000)', async () => {
    const s = await open();
    s.send(
      msg.parse('a', 'SELECT ssn FROM customers WHERE id = 3'),
      msg.bind('pa', 'a'),
      msg.parse('b', 'SELECT * FROM pg_stats'),
      msg.execute('pa'),
      msg.sync(),
    );
    const first = await s.z();
    expect(codes(first)).toBe('12EZ');
    expect(errors(first)).toEqual(['42501']);
    s.send(msg.execute('pa'), msg.sync());
    expect(errors(await s.z())).toEqual(['34000']);
    // The statement itself survived (it was parsed before the error): it still answers masked.
    s.send(msg.bind('pa', 'a'), msg.execute('pa'), msg.sync());
    expect(rows(await s.z())).toEqual([[ref.id3.ssn]]);
    await settle(s, 'usable');
  });

  test('18 a portal closed while suspended cannot be executed again (34000)', async () => {
    const s = await open();
    s.send(
      msg.parse('', 'SELECT id, email FROM customers ORDER BY id'),
      msg.bind('p', ''),
      msg.execute('p', 2),
      msg.closePortal('p'),
      msg.execute('p', 2),
      msg.sync(),
    );
    const frames = await s.z();
    expect(codes(frames)).toBe('12DDs3EZ');
    expect(rows(frames)).toEqual(ref.customersById.slice(0, 2));
    expect(errors(frames)).toEqual(['34000']);
    await settle(s, 'usable');
  });

  test('18b the row limit counts across every Execute of one portal: fetching in pages does not reset it', async () => {
    const s = await open();
    s.send(
      msg.parse('', 'SELECT id, card_number FROM orders ORDER BY id'),
      msg.bind('p', ''),
      msg.execute('p', 400),
      msg.execute('p', 400),
      msg.sync(),
    );
    const frames = await s.z();
    expect(rows(frames)).toHaveLength(ROW_LIMIT);
    expect(codes(frames).replace(/D+/g, 'D*')).toBe('12D*sD*EZ');
    expect(errors(frames)).toEqual(['54000']);
    await settle(s, 'usable');
  });

  test('19 a portal with max-rows executed again and again returns the masked rows in order, once each', async () => {
    const s = await open();
    s.send(
      msg.parse('', 'SELECT id, email FROM customers ORDER BY id'),
      msg.bind('p', ''),
      msg.execute('p', 2),
      msg.execute('p', 2),
      msg.execute('p', 0),
      msg.sync(),
    );
    const frames = await s.z();
    expect(codes(frames).replace(/D+/g, 'D')).toBe('12DsDsDCZ');
    expect(rows(frames)).toEqual(ref.customersById);
    await settle(s, 'usable');
  });
});

describe('pipelines', () => {
  test('20 protected and unprotected statements pipelined without Sync between them, all masked', async () => {
    const s = await open();
    s.send(
      ...run('SELECT ssn, phone FROM customers WHERE id = 3'),
      ...run('SELECT 2 AS two'),
      ...run('SELECT card_number FROM orders WHERE id = 1'),
      ...run('SELECT name FROM customers WHERE id IN (1, 2, 3)'),
      msg.sync(),
    );
    const frames = await s.z();
    expect(codes(frames)).toBe('12DC12DC12DC12DCZ');
    expect(rows(frames)).toEqual([[ref.id3.ssn, ref.id3.phone], ['2'], ['*************9999'], [ref.id3.name]]);
    await settle(s, 'usable');
  });

  test('21 pipelined with a Sync after each, a refusal in the middle fails only its own part', async () => {
    const s = await open();
    s.send(
      ...run('SELECT ssn FROM customers WHERE id = 3'),
      msg.sync(),
      ...run('SELECT query FROM pg_stat_activity'),
      msg.sync(),
      ...run('SELECT email FROM customers WHERE id = 3'),
      msg.sync(),
    );
    const [a, b, c] = [await s.z(), await s.z(), await s.z()];
    expect(rows(a)).toEqual([[ref.id3.ssn]]);
    expect(codes(b)).toBe('EZ');
    expect(errors(b)).toEqual(['42501']);
    expect(rows(c)).toEqual([[ref.id3.email]]);
    await settle(s, 'usable');
  });

  test('22 a pipelined refusal after an earlier Sync keeps its own SQLSTATE and message', async () => {
    // Found by this suite: the ReadyForQuery of the earlier Sync once cleared the queue of pending
    // refusals, so this one reached the client as a generic 42501.
    const s = await open();
    s.send(...run('SELECT 1'), msg.sync(), ...run('SELECT ssn FROM "Customers"'), msg.sync());
    expect(rows(await s.z())).toEqual([['1']]);
    const refused = await s.z();
    expect(codes(refused)).toBe('EZ');
    expect(errors(refused)).toEqual(['42P01']);
    expect(errorMessages(refused)).toEqual(['relation "Customers" does not exist']);
    s.send(msg.query('SELECT 1'), msg.query('SELECT ssn FROM "Customers"'));
    expect(rows(await s.z())).toEqual([['1']]);
    expect(errors(await s.z())).toEqual(['42P01']);
    await settle(s, 'usable');
  });

  test('23 pipelined without Sync, a refusal in the middle skips everything after it up to Sync', async () => {
    const s = await open();
    s.send(
      ...run('SELECT ssn FROM customers WHERE id = 3'),
      ...run('SELECT * FROM pg_stats_ext'),
      ...run('SELECT email FROM customers WHERE id = 3'),
      msg.sync(),
    );
    const frames = await s.z();
    expect(codes(frames)).toBe('12DCEZ');
    expect(rows(frames)).toEqual([[ref.id3.ssn]]);
    expect(errors(frames)).toEqual(['42501']);
    await settle(s, 'usable');
  });

  test('24 SET search_path pipelined before a qualified protected read does not loosen the rewrite', async () => {
    const s = await open();
    s.send(
      ...run('SET search_path = pg_catalog'),
      ...run('SELECT id, ssn FROM public.customers WHERE id IN (1, 2, 3)'),
      ...run('SELECT count(*) FROM public.customers'),
      msg.sync(),
    );
    const frames = await s.z();
    expect(codes(frames)).toBe('12C12DC12DCZ');
    expect(rows(frames)).toEqual([['3', ref.id3.ssn], ['333']]);
    await settle(s, 'usable');
  });

  test('25 a Query of two statements whose second reads protected columns: both answered, masked', async () => {
    const s = await open();
    s.send(msg.query('SELECT 1 AS one; SELECT ssn, email, phone FROM customers WHERE id IN (1, 3)'));
    const frames = await s.z();
    expect(codes(frames)).toBe('TDCTDCZ');
    expect(rows(frames)).toEqual([['1'], [ref.id3.ssn, ref.id3.email, ref.id3.phone]]);
    await settle(s, 'usable');
  });

  test('26 a Query of two statements whose second is refused: the whole Query is refused, the first never runs', async () => {
    const s = await open();
    s.send(msg.query('SELECT 1 AS one; SELECT * FROM pg_stats'));
    const frames = await s.z();
    expect(codes(frames)).toBe('EZ');
    expect(errors(frames)).toEqual(['42501']);
    await settle(s, 'usable');
  });
});

describe('messages outside their place', () => {
  test('27 a FunctionCall (keyed hash by OID) ends the session with 08P01', async () => {
    const s = await open();
    s.send(msg.functionCall(ref.keyedHashOid, ['ZQ7SSN-EU-991']));
    await settle(s, { closedWith: '08P01' });
  });

  test('28 a FunctionCall in the middle of a pipeline ends the session with 08P01', async () => {
    const s = await open();
    s.send(
      ...run('SELECT ssn FROM customers WHERE id = 3'),
      msg.functionCall(ref.keyedHashOid, ['ZQ7SSN-US-992']),
      msg.sync(),
    );
    await settle(s, { closedWith: '08P01' });
  });

  test('29 CopyData, CopyDone and CopyFail outside COPY are ignored', async () => {
    const s = await open();
    s.send(
      msg.copyData('SELECT * FROM public.customers\n'),
      msg.copyDone(),
      msg.copyFail('SELECT ssn FROM customers'),
      msg.query('SELECT count(*), max(ssn) FROM customers'),
    );
    const frames = await s.z();
    expect(codes(frames)).toBe('TDCZ');
    expect(rows(frames)).toEqual([['333', ref.maxSsn]]);
    await settle(s, 'usable');
  });

  test('30 COPY FROM STDIN is refused and the CopyData sent after it is ignored', async () => {
    const s = await open();
    s.send(
      msg.query('COPY customers FROM STDIN'),
      msg.copyData('9999\tx\tx@example.com\t1\t2\tEU\t2000-01-01\t2024-01-01\n'),
      msg.copyDone(),
      msg.query('SELECT 1'),
    );
    const refused = await s.z();
    expect(codes(refused)).toBe('EZ');
    expect(errors(refused)).toEqual(['42501']);
    expect(rows(await s.z())).toEqual([['1']]);
    expect((await admin.query('SELECT count(*)::int AS n FROM public.customers')).rows).toEqual([{ n: 1000 }]);
    await settle(s, 'usable');
  });

  test('31 a CopyFail sent during COPY TO STDOUT changes nothing: the masked copy completes', async () => {
    const s = await open();
    s.send(msg.query('COPY (SELECT id, ssn FROM customers WHERE id IN (1, 3)) TO STDOUT'), msg.copyFail('stop'));
    const frames = await s.z();
    expect(codes(frames)).toBe('HdcCZ');
    expect(frames.find((f) => f.code === 'd')!.body.toString()).toBe(`3\t${ref.id3.ssn}\n`);
    await settle(s, 'usable');
  });

  test('32 Flush after every message: answers arrive without ReadyForQuery, masked, until Sync', async () => {
    const s = await open();
    s.send(
      msg.parse('', 'SELECT id, email FROM customers ORDER BY id'),
      msg.flush(),
      msg.bind('p', ''),
      msg.flush(),
      msg.describePortal('p'),
      msg.flush(),
      msg.execute('p', 1),
      msg.flush(),
    );
    const first = await s.until('s');
    expect(codes(first)).toBe('12TDs');
    s.send(msg.execute('p', 1), msg.flush(), msg.flush(), msg.flush());
    const second = await s.until('s');
    s.send(msg.sync());
    expect(codes(await s.z())).toBe('Z');
    expect([...rows(first), ...rows(second)]).toEqual(ref.customersById.slice(0, 2));
    await settle(s, 'usable');
  });

  test('33 Flush after a refused Parse delivers the refusal at once; a hundred Flushes send nothing more', async () => {
    const s = await open();
    s.send(msg.parse('', 'SELECT * FROM pg_stats'), msg.flush());
    const refused = await s.until('E');
    expect(errors(refused)).toEqual(['42501']);
    s.send(
      ...Array.from({ length: 100 }, () => msg.flush()),
      ...run('SELECT ssn FROM customers WHERE id = 3'),
      msg.flush(),
    );
    expect(await s.quiet()).toEqual([]); // everything up to Sync is skipped after the error
    s.send(msg.sync());
    expect(codes(await s.z())).toBe('Z');
    await settle(s, 'usable');
  });

  test('34 Terminate in the middle of a pipeline ends the session quietly', async () => {
    const s = await open();
    s.send(...run('SELECT ssn FROM customers WHERE id = 1'), write.terminate(), msg.sync());
    await settle(s, 'terminated');
  });
});

describe('parameter types against masked columns', () => {
  test('35 $1 typed bytea compared with a masked text column: PostgreSQL has no such operator (42883)', async () => {
    const s = await open();
    s.send(
      msg.parse('', 'SELECT id FROM customers WHERE ssn = $1', [17]),
      msg.bind('', '', ['ZQ7SSN-EU-991']),
      msg.execute(''),
      msg.sync(),
    );
    const frames = await s.z();
    expect(codes(frames)).toBe('EZ');
    expect(errors(frames)).toEqual(['42883']);
    await settle(s, 'usable');
  });

  test('36 the masked column cast to bytea matches only the masked value, never the raw one', async () => {
    const s = await open();
    s.send(
      msg.parse('q', 'SELECT id FROM customers WHERE ssn::bytea = $1', [17]),
      msg.bind('', 'q', ['ZQ7SSN-EU-991']),
      msg.execute(''),
      msg.bind('', 'q', [ref.id3.ssn]),
      msg.execute(''),
      msg.sync(),
    );
    const frames = await s.z();
    expect(codes(frames)).toBe('12C2DCZ');
    expect(rows(frames)).toEqual([['3']]);
    await settle(s, 'usable');
  });

  test('37 $1 typed name or varchar and sent in binary, or left untyped with LIKE, sees only masked values', async () => {
    const s = await open();
    s.send(
      msg.parse('n', 'SELECT id FROM customers WHERE ssn = $1', [19]),
      msg.bind('', 'n', [Buffer.from('ZQ7SSN-EU-991')], [1]),
      msg.execute(''),
      msg.parse('v', 'SELECT id FROM customers WHERE ssn = $1', [1043]),
      msg.bind('', 'v', [Buffer.from(ref.id3.ssn)], [1]),
      msg.execute(''),
      msg.parse('l', 'SELECT count(*) FROM customers WHERE ssn LIKE $1 OR email LIKE $2 OR phone LIKE $3'),
      msg.bind('', 'l', ['ZQ7%', 'zq7%', '%ZQ7%']),
      msg.execute(''),
      msg.sync(),
    );
    const frames = await s.z();
    expect({ codes: codes(frames), rows: rows(frames), errors: errorMessages(frames) }).toEqual({
      codes: '12C12DC12DCZ',
      rows: [['3'], ['0']],
      errors: [],
    });
    await settle(s, 'usable');
  });

  test('38 binary result formats return the masked values too', async () => {
    const s = await open();
    s.send(
      msg.parse('', 'SELECT id, ssn, birth_date FROM customers WHERE id = 3'),
      msg.bind('', '', [], [], [1]),
      msg.execute(''),
      msg.sync(),
    );
    const frames = await s.z();
    expect(codes(frames)).toBe('12DCZ');
    const body = frames.find((f) => f.code === 'D')!.body;
    // int4 3, then the hash as text bytes, then the date (days since 2000-01-01) of a January 1st.
    expect(body.readInt32BE(6)).toBe(3);
    const ssnLength = body.readInt32BE(10);
    expect(body.toString('utf8', 14, 14 + ssnLength)).toBe(ref.id3.ssn);
    const days = body.readInt32BE(14 + ssnLength + 4);
    const date = new Date(Date.UTC(2000, 0, 1) + days * 86_400_000);
    expect([date.getUTCMonth(), date.getUTCDate()]).toEqual([0, 1]);
    await settle(s, 'usable');
  });
});
