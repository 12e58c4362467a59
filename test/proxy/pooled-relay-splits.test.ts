/**
 * Backend framing on a pooled session, split at every byte boundary. A pooled session's answers
 * carry what only pgveil asked: the statements that give a lent connection the client's settings
 * (a hidden Query, whose RowDescription, DataRow, ParameterStatus, CommandComplete and ReadyForQuery
 * never reach the client), a statement re-prepared on the next connection lent (a hidden Parse), and
 * the Sync pgveil adds so a connection can go back (a hidden ReadyForQuery); beside them a row limit
 * and a refused statement's sentinel. The relay scans them in place with the session's own
 * StatementPipeline as its handler.
 *
 * The answers are PostgreSQL's own bytes: a session runs once against real connections (one per
 * lent connection) and each step's answer is recorded. Then fresh pipelines replay the recording
 * with every step's answer split at every byte boundary, and with every answer a byte at a time: the
 * client must get the same bytes, upstream the same requests, and the audit the same records as when
 * each answer arrives whole.
 */
import { connect, type Socket } from 'node:net';
import { serialize } from 'pg-protocol';
import { StatementPipeline } from '../../proxy/session/statement-pipeline';
import { BackendRelay } from '../../proxy/session/backend-relay';
import type { ConnectionStatements } from '../../proxy/session/pipeline-ledger';
import type { SessionInfo, StatementRecord } from '../../proxy/statement-gate';
import { describeBackend, describeFrontend, frontendMessages } from '../support/pipeline-script';
import { TableGate } from '../support/table-gate';

const TOKEN = '5eb1a15eb1a15eb1a15eb1a1';
const PREAMBLE = "SELECT pg_catalog.set_config('application_name', 'pooled split', false)";

interface Step {
  /** The connection lent from this step on (the previous one is given back first). */
  readonly lend?: 'a' | 'b';
  /** Give the connection the client's settings first: pgveil's hidden Query. */
  readonly preamble?: true;
  readonly client?: Buffer[];
  /** After the answers so far: the Sync pgveil adds so the connection may go back. */
  readonly syncEarly?: true;
  /** An answer that ends without ReadyForQuery (after a Flush): how many frames it has. */
  readonly frames?: number;
}

const q = (sql: string): Buffer => serialize.query(sql);
const p = (name: string, text: string): Buffer => serialize.parse({ name, text, types: [] });
const b = (portal: string, statement: string): Buffer => serialize.bind({ portal, statement, values: [] });
const e = (portal = ''): Buffer => serialize.execute({ portal, rows: 0 });

const STEPS: readonly Step[] = [
  // Borrowed with the client's settings applied in the same write as its first Query.
  { lend: 'a', preamble: true, client: [q('SELECT email FROM customers')] },
  { client: [p('s1', 'SELECT email FROM customers'), serialize.sync()] },
  // Another connection: s1 is prepared there (hidden Parse) before its Bind.
  { lend: 'b', preamble: true, client: [b('', 's1'), e(), serialize.sync()] },
  // A row limit of 2 on 3 rows, and a refused statement's sentinel.
  { client: [q('SELECT n FROM limited')] },
  { client: [q('SELECT ssn FROM customers')] },
  // Prepared and described only, then pgveil's own Sync so that the connection can go back. The
  // connection holds s1's text under the same content name: pgveil closes it there first (hidden).
  {
    lend: 'a',
    client: [p('s2', 'SELECT email FROM customers'), serialize.describe({ type: 'S', name: 's2' }), serialize.flush()],
    frames: 4,
  },
  { syncEarly: true },
  { client: [b('', 's2'), e(), serialize.sync()] },
];

const info: SessionInfo = {
  sessionId: 'pooled-split',
  principal: { user: 'analyst', groups: [], attributes: {} },
  dataProduct: 'demo',
  searchPath: ['public'],
  applicationName: undefined,
  clientAddress: '127.0.0.1',
};

interface Run {
  /** Per step: what went upstream (spelled), and the client's bytes. */
  readonly upstream: string[][];
  readonly toClient: Buffer[];
  /** Per step: the answer arrived as one chunk and the client got that very buffer, uncopied. */
  readonly asItCame: boolean[];
  readonly audit: string[];
  readonly cancels: number;
}

/**
 * Runs the steps through a pipeline and relay. `answer(step, upstreamBytes)` gives upstream's answer
 * to a step as the chunks it arrives in.
 */
async function run(answer: (step: number, sent: Buffer | undefined) => Promise<Buffer[]> | Buffer[]): Promise<Run> {
  const records: StatementRecord[] = [];
  let cancels = 0;
  const pipeline = new StatementPipeline(info, {
    gate: new TableGate(),
    readyForStatements: () => true,
    statementFinished: (r) => records.push(r),
    refusalToken: TOKEN,
    user: 'analyst',
    cancelUpstream: () => cancels++,
    sendUpstream: () => undefined,
    terminate: () => undefined,
  });
  const relay = new BackendRelay(pipeline, StatementPipeline.inspectedCodes);
  const connections = new Map<string, ConnectionStatements>();
  const result: Run = { upstream: [], toClient: [], asItCame: [], audit: [], cancels: 0 };
  for (const [i, step] of STEPS.entries()) {
    if (step.lend) {
      pipeline.lend(undefined);
      if (!connections.has(step.lend)) connections.set(step.lend, { prepared: new Set(), unnamed: undefined });
      pipeline.lend(connections.get(step.lend));
    }
    if (step.preamble) pipeline.hiddenQuery(PREAMBLE, () => undefined);
    for (const m of frontendMessages(Buffer.concat(step.client ?? []))) await pipeline.request(m);
    if (step.syncEarly && !pipeline.syncEarly()) throw new Error(`step ${i}: no early Sync`);
    const sent = pipeline.takeUpstream();
    result.upstream.push(describeFrontend(sent));
    const out: Buffer[] = [];
    const chunks = await answer(i, sent);
    for (const chunk of chunks) out.push(...relay.relay(chunk));
    result.asItCame.push(chunks.length === 1 && out.length === 1 && out[0] === chunks[0]);
    result.toClient.push(Buffer.concat(out));
  }
  result.audit.push(...records.map((r) => `${r.sql} rows=${r.rows} ${r.error?.sqlstate ?? 'ok'}`));
  return { ...result, cancels };
}

/** A connection to the real PostgreSQL that returns each answer's raw bytes. */
class Upstream {
  private bytes = Buffer.alloc(0);
  private wake: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.bytes = Buffer.concat([this.bytes, chunk]);
      this.wake?.();
    });
  }

  static async open(): Promise<Upstream> {
    const socket = connect({ host: '127.0.0.1', port: 5432 });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const upstream = new Upstream(socket);
    socket.write(serialize.startup({ user: 'postgres', database: 'postgres' }));
    await upstream.answer(1);
    return upstream;
  }

  /** Everything upstream sends up to its `readyCount`-th ReadyForQuery from now (or its `frames`-th frame). */
  async answer(readyCount: number, frames = Infinity): Promise<Buffer> {
    for (;;) {
      let seen = 0;
      let framesSeen = 0;
      for (let pos = 0; pos + 5 <= this.bytes.length;) {
        const end = pos + 1 + this.bytes.readUInt32BE(pos + 1);
        if (end > this.bytes.length) break;
        if ((this.bytes[pos] === 0x5a && ++seen === readyCount) || ++framesSeen === frames) {
          const answer = this.bytes.subarray(0, end);
          this.bytes = this.bytes.subarray(end);
          return answer;
        }
        pos = end;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.end(serialize.end());
  }
}

/** Each step's answer as PostgreSQL gave it, and the run that recorded them (each answer whole). */
let recorded: Buffer[];
let whole: Run;

beforeAll(async () => {
  const upstreams = new Map<string, Upstream>();
  let lent = '';
  recorded = [];
  try {
    whole = await run(async (i, sent) => {
      lent = STEPS[i]!.lend ?? lent;
      let upstream = upstreams.get(lent);
      if (!upstream) upstreams.set(lent, (upstream = await Upstream.open()));
      if (!sent) return [];
      upstream.send(sent);
      // One ReadyForQuery for each Query and each Sync.
      const waits = describeFrontend(sent).filter((m) => m === 'S' || m.startsWith('Q ')).length;
      const answer = await upstream.answer(waits, STEPS[i]!.frames);
      recorded.push(answer);
      return [answer];
    });
  } finally {
    for (const upstream of upstreams.values()) upstream.close();
  }
});

test('the recorded session is the pooled one this test is about', () => {
  const POOLED = 'pgveil_';
  // Both connections were given the client's settings by a hidden Query ahead of the client's messages.
  expect(whole.upstream[0]![0]).toBe(`Q ${PREAMBLE}`);
  expect(whole.upstream[2]![0]).toBe(`Q ${PREAMBLE}`);
  // s1 was prepared on the second connection before its Bind, under its content name.
  expect(whole.upstream[2]![1]).toMatch(new RegExp(`^P ${POOLED}\\w+: SELECT email FROM \\(VALUES`));
  // s2 has s1's text, so its content name: the connection holds it already and pgveil closes it first.
  expect(whole.upstream[5]![0]).toMatch(new RegExp(`^C S ${POOLED}\\w+$`));
  expect(whole.upstream[6]).toEqual(['S']);
  // What the client got: none of the hidden answers, the limit's error, the refusal.
  expect(whole.toClient.map((bytes) => describeBackend([bytes]))).toEqual([
    ['T', 'D', 'D', 'C SELECT 2', 'Z I'],
    ['1', 'Z I'],
    ['2', 'D', 'D', 'C SELECT 2', 'Z I'],
    ['T', 'D', 'D', 'E 54000', 'Z I'],
    ['E 42501', 'Z I'],
    ['1', 't', 'T'],
    [],
    ['2', 'D', 'D', 'C SELECT 2', 'Z I'],
  ]);
  expect(whole.audit).toEqual([
    'SELECT email FROM customers rows=2 ok',
    'SELECT email FROM customers rows=2 ok',
    'SELECT n FROM limited rows=2 54000',
    'SELECT ssn FROM customers rows=0 42501',
    'SELECT email FROM customers rows=2 ok',
  ]);
  expect(whole.cancels).toBe(1);
  // Answers with nothing to drop or replace leave as the buffer they came in, rows included.
  expect(whole.asItCame).toEqual([false, true, false, false, false, false, false, true]);
  // The hidden answers were there to drop: the settings' row and ParameterStatus, a ReadyForQuery each.
  const hidden = recorded[0]!.length + recorded[2]!.length + recorded[6]!.length;
  const shown = whole.toClient[0]!.length + whole.toClient[2]!.length + whole.toClient[6]!.length;
  expect(hidden).toBeGreaterThan(shown + 100);
});

const replay =
  (split: (step: number, answer: Buffer) => Buffer[]) =>
  (step: number): Buffer[] =>
    split(step, recorded[step] ?? Buffer.alloc(0));

test('each answer split at every byte boundary: the same bytes to the client, requests and audit', async () => {
  let runs = 0;
  for (const [step, answer] of recorded.entries()) {
    for (let at = 1; at < answer.length; at++) {
      const got = await run(replay((s, bytes) => (s === step ? [bytes.subarray(0, at), bytes.subarray(at)] : [bytes])));
      runs++;
      if (!got.toClient.every((bytes, i) => bytes.equals(whole.toClient[i]!)))
        throw new Error(`step ${step} split at ${at}: the client got other bytes`);
      expect({ step, at, upstream: got.upstream, audit: got.audit, cancels: got.cancels }).toEqual({
        step,
        at,
        upstream: whole.upstream,
        audit: whole.audit,
        cancels: whole.cancels,
      });
    }
  }
  expect(runs).toBe(recorded.reduce((n, answer) => n + Math.max(answer.length - 1, 0), 0));
});

test('the hidden answers split at every pair of byte boundaries', async () => {
  // Steps 0 and 2: a hidden Query's answer ahead of the client's (and a hidden Parse in step 2).
  for (const step of [0, 2]) {
    const answer = recorded[step]!;
    for (let i = 1; i < answer.length; i++) {
      for (let j = i + 1; j < answer.length; j++) {
        const got = await run(
          replay((s, bytes) =>
            s === step ? [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)] : [bytes],
          ),
        );
        if (!got.toClient[step]!.equals(whole.toClient[step]!) || got.audit.join() !== whole.audit.join())
          throw new Error(`step ${step} split at ${i} and ${j} differs`);
      }
    }
  }
});

test('every answer a byte at a time', async () => {
  const got = await run(replay((_s, bytes) => [...bytes].map((byte) => Buffer.from([byte]))));
  expect(got.toClient.map((bytes) => bytes.toString('hex'))).toEqual(
    whole.toClient.map((bytes) => bytes.toString('hex')),
  );
  expect(got.upstream).toEqual(whole.upstream);
  expect(got.audit).toEqual(whole.audit);
});
