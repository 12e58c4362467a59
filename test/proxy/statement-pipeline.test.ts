/**
 * The statement pipeline as a plain state machine, without sockets: each case is what the client
 * sends, what must go upstream in its place, upstream's answer, what the client must get, and the
 * audit. The second half replays every case's upstream frames on a real PostgreSQL and checks that
 * the scripted answers are the ones PostgreSQL really gives, so the table cannot drift from it.
 */
import { serialize } from 'pg-protocol';
import { StatementPipeline } from '../../proxy/session/statement-pipeline';
import { BackendRelay } from '../../proxy/session/backend-relay';
import { PORTAL_FRESH_MS } from '../../proxy/session/client-requests';
import type { SessionInfo, StatementRecord } from '../../proxy/statement-gate';
import { backendFrames, describeBackend, describeFrontend, frontendMessages } from '../support/pipeline-script';
import { maskedCustomers, TableGate } from '../support/table-gate';
import { RawClient, errorFields } from '../support/raw-client';
import { contentName } from '../../proxy/session/pooled-names';
import type { ConnectionStatements } from '../../proxy/session/pipeline-ledger';

const TOKEN = 'f00dfeedf00dfeedf00dfeed';
const SENTINEL = `SELECT "pgveil refused ${TOKEN}"`;
const MASKED = maskedCustomers(1);
const READ = 'SELECT email FROM customers';
const REFUSED = 'SELECT ssn FROM customers';
/** The name a pooled connection knows MASKED by, prepared without parameter types. */
const POOLED = contentName(MASKED, Buffer.from([0, 0]));

interface Step {
  /** Frontend bytes the client sends. */
  readonly client?: Buffer[];
  /** What the pipeline must send upstream for them. */
  readonly upstream?: string[];
  /** Upstream's answer (spelled as in pipeline-script). */
  readonly answers?: string[];
  /** What the client must get for that answer. */
  readonly toClient?: string[];
  /** Change every decision (a policy reload), and let bound portals age past PORTAL_FRESH_MS. */
  readonly policyChange?: true;
  /** Transaction pooling: the step runs on this pooled connection (each name one upstream connection). */
  readonly lend?: 'a' | 'b';
}

interface Case {
  readonly name: string;
  readonly steps: Step[];
  /** `sql rows=n sqlstate|ok` per statement finished, in order. */
  readonly audit: string[];
  readonly cancels?: number;
}

const q = (sql: string): Buffer => serialize.query(sql);
const p = (name: string, text: string): Buffer => serialize.parse({ name, text, types: [] });
const b = (portal: string, statement: string): Buffer => serialize.bind({ portal, statement, values: [] });
const e = (portal = '', rows = 0): Buffer => serialize.execute({ portal, rows });
const d = (type: 'S' | 'P', name = ''): Buffer => serialize.describe({ type, name });
const sync = serialize.sync();
const flush = serialize.flush();

const cases: Case[] = [
  {
    name: 'a simple Query is rewritten, answered and audited with its rows',
    steps: [
      {
        client: [q(READ)],
        upstream: [`Q ${MASKED}`],
        answers: ['T', 'D', 'D', 'C SELECT 2', 'Z I'],
        toClient: ['T', 'D', 'D', 'C SELECT 2', 'Z I'],
      },
    ],
    audit: [`${READ} rows=2 ok`],
  },
  {
    name: "a refused Query: its sentinel fails upstream and the client gets the refusal's SQLSTATE",
    steps: [
      {
        client: [q(REFUSED)],
        upstream: [`Q ${SENTINEL}`],
        answers: ['E 42703 sentinel', 'Z I'],
        toClient: ['E 42501', 'Z I'],
      },
    ],
    audit: [`${REFUSED} rows=0 42501`],
  },
  {
    name: 'extended protocol: Parse, Bind, Describe, Execute, Sync',
    steps: [
      {
        client: [p('', READ), b('', ''), d('P'), e(), sync],
        upstream: [`P : ${MASKED}`, 'B  <- ', 'D P ', 'E  max 0', 'S'],
        answers: ['1', '2', 'T', 'D', 'D', 'C SELECT 2', 'Z I'],
        toClient: ['1', '2', 'T', 'D', 'D', 'C SELECT 2', 'Z I'],
      },
    ],
    audit: [`${READ} rows=2 ok`],
  },
  {
    name: 'a refused Parse and everything up to Sync fail as in PostgreSQL, in order',
    steps: [
      {
        client: [p('', REFUSED), b('', ''), d('P'), e(), sync],
        upstream: [`P : ${SENTINEL}`, 'B  <- ', 'D P ', 'E  max 0', 'S'],
        answers: ['E 42703 sentinel', 'Z I'],
        toClient: ['E 42501', 'Z I'],
      },
    ],
    audit: [`${REFUSED} rows=0 42501`],
  },
  {
    name: 'a name parsed twice without Close: the second Parse fails (42P05), the first statement stays and is what runs',
    steps: [
      {
        client: [p('s1', READ), p('s1', 'SELECT 1'), sync],
        upstream: [`P s1: ${MASKED}`, 'P s1: SELECT 1', 'S'],
        answers: ['1', 'E 42P05', 'Z I'],
        toClient: ['1', 'E 42P05', 'Z I'],
      },
      {
        client: [b('', 's1'), e(), sync],
        upstream: ['B  <- s1', 'E  max 0', 'S'],
        answers: ['2', 'D', 'D', 'C SELECT 2', 'Z I'],
        toClient: ['2', 'D', 'D', 'C SELECT 2', 'Z I'],
      },
    ],
    audit: [`${READ} rows=2 ok`],
  },
  {
    name: 'a refused re-Parse of a named statement leaves the earlier masked statement in place',
    steps: [
      {
        client: [p('s1', READ), sync],
        upstream: [`P s1: ${MASKED}`, 'S'],
        answers: ['1', 'Z I'],
        toClient: ['1', 'Z I'],
      },
      {
        client: [p('s1', REFUSED), sync],
        upstream: [`P s1: ${SENTINEL}`, 'S'],
        answers: ['E 42703 sentinel', 'Z I'],
        toClient: ['E 42501', 'Z I'],
      },
      {
        client: [b('', 's1'), e(), sync],
        upstream: ['B  <- s1', 'E  max 0', 'S'],
        answers: ['2', 'D', 'D', 'C SELECT 2', 'Z I'],
        toClient: ['2', 'D', 'D', 'C SELECT 2', 'Z I'],
      },
    ],
    audit: [`${REFUSED} rows=0 42501`, `${READ} rows=2 ok`],
  },
  {
    name: 'the unnamed statement replaced between two Binds: each portal keeps its own statement',
    steps: [
      {
        client: [p('', READ), b('p1', ''), p('', 'SELECT 7'), b('p2', ''), e('p1'), e('p2'), sync],
        upstream: [`P : ${MASKED}`, 'B p1 <- ', 'P : SELECT 7', 'B p2 <- ', 'E p1 max 0', 'E p2 max 0', 'S'],
        answers: ['1', '2', '1', '2', 'D', 'D', 'C SELECT 2', 'D', 'C SELECT 1', 'Z I'],
        toClient: ['1', '2', '1', '2', 'D', 'D', 'C SELECT 2', 'D', 'C SELECT 1', 'Z I'],
      },
    ],
    audit: [`${READ} rows=2 ok`, 'SELECT 7 rows=1 ok'],
  },
  {
    name: 'the unnamed statement replaced by a refused one: the pipeline fails and nothing after it runs',
    steps: [
      {
        client: [p('', READ), b('', ''), p('', REFUSED), b('', ''), e(), sync],
        upstream: [`P : ${MASKED}`, 'B  <- ', `P : ${SENTINEL}`, 'B  <- ', 'E  max 0', 'S'],
        answers: ['1', '2', 'E 42703 sentinel', 'Z I'],
        toClient: ['1', '2', 'E 42501', 'Z I'],
      },
      {
        client: [b('', ''), e(), sync],
        upstream: ['B  <- ', 'E  max 0', 'S'],
        answers: ['E 26000', 'Z I'],
        toClient: ['E 26000', 'Z I'],
      },
    ],
    audit: [`${REFUSED} rows=0 42501`],
  },
  {
    name: 'Describe of a refused statement: the refusal, never a RowDescription',
    steps: [
      {
        client: [p('s2', REFUSED), d('S', 's2'), sync],
        upstream: [`P s2: ${SENTINEL}`, 'D S s2', 'S'],
        answers: ['E 42703 sentinel', 'Z I'],
        toClient: ['E 42501', 'Z I'],
      },
    ],
    audit: [`${REFUSED} rows=0 42501`],
  },
  {
    name: 'pipelined without Sync, a refusal in the middle skips everything after it up to Sync',
    steps: [
      {
        client: [p('', READ), b('', ''), e(), p('', REFUSED), b('', ''), e(), p('', 'SELECT 3'), b('', ''), e(), sync],
        upstream: [
          `P : ${MASKED}`,
          'B  <- ',
          'E  max 0',
          `P : ${SENTINEL}`,
          'B  <- ',
          'E  max 0',
          'P : SELECT 3',
          'B  <- ',
          'E  max 0',
          'S',
        ],
        answers: ['1', '2', 'D', 'D', 'C SELECT 2', 'E 42703 sentinel', 'Z I'],
        toClient: ['1', '2', 'D', 'D', 'C SELECT 2', 'E 42501', 'Z I'],
      },
    ],
    audit: [`${REFUSED} rows=0 42501`, `${READ} rows=2 ok`],
  },
  {
    name: 'pipelined with a Sync after each, a refusal in the middle fails only its own part',
    steps: [
      {
        client: [p('', REFUSED), b('', ''), e(), sync, p('', READ), b('', ''), e(), sync],
        upstream: [`P : ${SENTINEL}`, 'B  <- ', 'E  max 0', 'S', `P : ${MASKED}`, 'B  <- ', 'E  max 0', 'S'],
        answers: ['E 42703 sentinel', 'Z I', '1', '2', 'D', 'D', 'C SELECT 2', 'Z I'],
        toClient: ['E 42501', 'Z I', '1', '2', 'D', 'D', 'C SELECT 2', 'Z I'],
      },
    ],
    audit: [`${REFUSED} rows=0 42501`, `${READ} rows=2 ok`],
  },
  {
    name: 'Flush after a refused Parse delivers the refusal at once, before any Sync',
    steps: [
      {
        client: [p('', REFUSED), flush],
        upstream: [`P : ${SENTINEL}`, 'H'],
        answers: ['E 42703 sentinel'],
        toClient: ['E 42501'],
      },
      { client: [sync], upstream: ['S'], answers: ['Z I'], toClient: ['Z I'] },
    ],
    audit: [`${REFUSED} rows=0 42501`],
  },
  {
    name: 'a portal executed with max-rows again and again returns its rows in order, once each',
    steps: [
      { client: [q('BEGIN')], upstream: ['Q BEGIN'], answers: ['C BEGIN', 'Z T'], toClient: ['C BEGIN', 'Z T'] },
      {
        client: [p('', READ), b('c', ''), e('c', 1), e('c', 1), e('c', 1), sync],
        upstream: [`P : ${MASKED}`, 'B c <- ', 'E c max 1', 'E c max 1', 'E c max 1', 'S'],
        answers: ['1', '2', 'D', 's', 'D', 's', 'C SELECT 0', 'Z T'],
        toClient: ['1', '2', 'D', 's', 'D', 's', 'C SELECT 0', 'Z T'],
      },
    ],
    // Each Execute is audited with the rows it returned.
    audit: ['BEGIN rows=0 ok', `${READ} rows=1 ok`, `${READ} rows=1 ok`, `${READ} rows=0 ok`],
  },
  {
    name: "a simple Query past the principal's row limit stops at the limit with 54000 and cancels upstream",
    steps: [
      {
        client: [q('SELECT n FROM limited')],
        upstream: ['Q SELECT n FROM generate_series(1, 3) AS limited(n)'],
        answers: ['T', 'D', 'D', 'D', 'C SELECT 3', 'Z I'],
        toClient: ['T', 'D', 'D', 'E 54000', 'Z I'],
      },
    ],
    audit: ['SELECT n FROM limited rows=2 54000'],
    cancels: 1,
  },
  {
    name: 'the row limit counts across every Execute of one portal: fetching in pages does not reset it',
    steps: [
      { client: [q('BEGIN')], upstream: ['Q BEGIN'], answers: ['C BEGIN', 'Z T'], toClient: ['C BEGIN', 'Z T'] },
      {
        client: [p('', 'SELECT n FROM limited'), b('c', ''), e('c', 2), e('c', 2), sync],
        upstream: ['P : SELECT n FROM generate_series(1, 3) AS limited(n)', 'B c <- ', 'E c max 2', 'E c max 2', 'S'],
        answers: ['1', '2', 'D', 'D', 's', 'D', 'C SELECT 1', 'Z T'],
        toClient: ['1', '2', 'D', 'D', 's', 'E 54000', 'Z T'],
      },
    ],
    audit: ['BEGIN rows=0 ok', 'SELECT n FROM limited rows=2 ok', 'SELECT n FROM limited rows=0 54000'],
    cancels: 1,
  },
  {
    name: 'a statement prepared before a policy change is prepared again under the same name before its Bind, unseen by the client',
    steps: [
      {
        client: [p('s3', READ), sync],
        upstream: [`P s3: ${MASKED}`, 'S'],
        answers: ['1', 'Z I'],
        toClient: ['1', 'Z I'],
      },
      { policyChange: true },
      {
        client: [b('', 's3'), e(), sync],
        upstream: ['C S s3', `P s3: ${maskedCustomers(2)}`, 'B  <- s3', 'E  max 0', 'S'],
        answers: ['3', '1', '2', 'D', 'D', 'C SELECT 2', 'Z I'],
        toClient: ['2', 'D', 'D', 'C SELECT 2', 'Z I'],
      },
    ],
    audit: [`${READ} rows=2 ok`],
  },
  {
    name: 'a portal opened before a policy change is refused at its next Execute',
    steps: [
      { client: [q('BEGIN')], upstream: ['Q BEGIN'], answers: ['C BEGIN', 'Z T'], toClient: ['C BEGIN', 'Z T'] },
      {
        client: [p('', READ), b('c', ''), e('c', 1), sync],
        upstream: [`P : ${MASKED}`, 'B c <- ', 'E c max 1', 'S'],
        answers: ['1', '2', 'D', 's', 'Z T'],
        toClient: ['1', '2', 'D', 's', 'Z T'],
      },
      { policyChange: true },
      {
        client: [e('c', 1), sync],
        upstream: [`E pgveil refused ${TOKEN} max 0`, 'S'],
        answers: ['E 34000 sentinel', 'Z E'],
        toClient: ['E 42501', 'Z E'],
      },
    ],
    audit: ['BEGIN rows=0 ok', `${READ} rows=1 ok`, `${READ} rows=0 42501`],
  },
  {
    name: 'pooled: a statement prepared on one connection is prepared on the next one lent before its Bind, by its content name',
    steps: [
      {
        lend: 'a',
        client: [p('s1', READ), sync],
        upstream: [`P ${POOLED}: ${MASKED}`, 'S'],
        answers: ['1', 'Z I'],
        toClient: ['1', 'Z I'],
      },
      {
        lend: 'b',
        client: [b('', 's1'), e(), sync],
        upstream: [`P ${POOLED}: ${MASKED}`, `B  <- ${POOLED}`, 'E  max 0', 'S'],
        answers: ['1', '2', 'D', 'D', 'C SELECT 2', 'Z I'],
        toClient: ['2', 'D', 'D', 'C SELECT 2', 'Z I'],
      },
      {
        lend: 'a',
        client: [b('', 's1'), e(), sync],
        upstream: [`B  <- ${POOLED}`, 'E  max 0', 'S'],
        answers: ['2', 'D', 'D', 'C SELECT 2', 'Z I'],
        toClient: ['2', 'D', 'D', 'C SELECT 2', 'Z I'],
      },
    ],
    audit: [`${READ} rows=2 ok`, `${READ} rows=2 ok`],
  },
  {
    name: 'pooled: a re-Parse of a name the client has fails with 42P05 where it stood, the rest is skipped to Sync, the old statement stays',
    steps: [
      {
        lend: 'a',
        client: [p('s1', READ), sync],
        upstream: [`P ${POOLED}: ${MASKED}`, 'S'],
        answers: ['1', 'Z I'],
        toClient: ['1', 'Z I'],
      },
      {
        lend: 'a',
        client: [p('s1', READ), b('', 's1'), e(), sync],
        upstream: [`P pgveil refused ${TOKEN}: ${SENTINEL}`, `B  <- pgveil refused ${TOKEN}`, 'E  max 0', 'S'],
        answers: ['E 42703 sentinel', 'Z I'],
        toClient: ['E 42P05', 'Z I'],
      },
      {
        lend: 'a',
        client: [b('', 's1'), e(), sync],
        upstream: [`B  <- ${POOLED}`, 'E  max 0', 'S'],
        answers: ['2', 'D', 'D', 'C SELECT 2', 'Z I'],
        toClient: ['2', 'D', 'D', 'C SELECT 2', 'Z I'],
      },
    ],
    audit: [`${READ} rows=0 42P05`, `${READ} rows=2 ok`],
  },
  {
    name: 'pooled: a Bind of a statement the client never prepared fails with 26000, whatever the connection holds',
    steps: [
      {
        lend: 'a',
        client: [b('', POOLED), e(), sync],
        upstream: [`B  <- pgveil refused ${TOKEN}`, 'E  max 0', 'S'],
        answers: ['E 26000 sentinel', 'Z I'],
        toClient: ['E 26000', 'Z I'],
      },
    ],
    audit: [`Bind of "${POOLED}" rows=0 26000`],
  },
];

const info: SessionInfo = {
  sessionId: 'pipeline-test',
  principal: { user: 'analyst', groups: [], attributes: {} },
  dataProduct: 'demo',
  searchPath: ['public'],
  applicationName: undefined,
  clientAddress: '127.0.0.1',
};

/** Runs a case through a pipeline and relay; yields each step's upstream bytes for the replay. */
async function run(kase: Case, check: boolean): Promise<Buffer[]> {
  const gate = new TableGate();
  const records: StatementRecord[] = [];
  let cancels = 0;
  const pipeline = new StatementPipeline(info, {
    gate,
    readyForStatements: () => true,
    statementFinished: (r) => records.push(r),
    refusalToken: TOKEN,
    user: 'analyst',
    cancelUpstream: () => cancels++,
    sendUpstream: () => undefined,
    terminate: () => undefined,
  });
  const relay = new BackendRelay(pipeline, StatementPipeline.inspectedCodes);
  const sent: Buffer[] = [];
  const connections = new Map<string, ConnectionStatements>();
  for (const step of kase.steps) {
    if (step.lend) {
      if (!connections.has(step.lend)) connections.set(step.lend, { prepared: new Set(), unnamed: undefined });
      pipeline.lend(connections.get(step.lend));
    }
    if (step.policyChange) {
      gate.version++;
      const since = Date.now();
      while (Date.now() - since <= PORTAL_FRESH_MS) await new Promise((r) => setTimeout(r, 5));
    }
    if (step.client) {
      for (const m of frontendMessages(Buffer.concat(step.client))) await pipeline.request(m);
      const upstream = pipeline.takeUpstream();
      sent.push(upstream ?? Buffer.alloc(0));
      if (check) expect(describeFrontend(upstream)).toEqual(step.upstream);
    }
    if (!step.answers) continue;
    const toClient = describeBackend(relay.relay(backendFrames(step.answers, TOKEN)));
    if (check) expect(toClient).toEqual(step.toClient);
  }
  if (check) {
    expect(records.map((r) => `${r.sql} rows=${r.rows} ${r.error?.sqlstate ?? 'ok'}`)).toEqual(kase.audit);
    expect(cancels).toBe(kase.cancels ?? 0);
  }
  return sent;
}

describe('socket-free', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, kase) => {
    await run(kase, true);
  });
});

describe('the scripted answers are what PostgreSQL answers', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, kase) => {
    const upstreamBytes = await run(kase, false);
    // Each pooled connection of the case is a PostgreSQL connection of its own.
    const open = new Map<string, RawClient>();
    const connection = async (name: string): Promise<RawClient> => {
      let client = open.get(name);
      if (!client) {
        client = await RawClient.open(5432);
        open.set(name, client);
        client.send(serialize.startup({ user: 'postgres', database: 'postgres' }));
        await client.until('Z');
      }
      return client;
    };
    try {
      let i = 0;
      for (const step of kase.steps) {
        if (!step.client) continue;
        const pg = await connection(step.lend ?? 'a');
        pg.send(upstreamBytes[i++]!);
        const expected = step.answers ?? [];
        const got: string[] = [];
        while (got.length < expected.length) {
          const frame = await pg.next();
          if (!frame) throw new Error(`PostgreSQL closed the connection after ${got.join(', ')}`);
          if (frame.code === 'S' || frame.code === 'N') continue;
          if (frame.code === 'E') {
            const fields = errorFields(frame);
            const sentinel = fields.get('M')!.includes(TOKEN) ? ' sentinel' : '';
            got.push(`E ${fields.get('C')}${sentinel}`);
          } else if (frame.code === 'C') got.push(`C ${frame.body.toString('utf8', 0, frame.body.length - 1)}`);
          else if (frame.code === 'Z') got.push(`Z ${String.fromCharCode(frame.body[0]!)}`);
          else got.push(frame.code);
        }
        // Upstream errors the script does not mark as sentinels say "upstream error" in the table.
        expect(got).toEqual(expected);
      }
    } finally {
      for (const client of open.values()) client.close();
    }
  });
});
