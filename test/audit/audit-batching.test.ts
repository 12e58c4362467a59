/**
 * Records appended in one turn of the event loop reach the file in one write (one system call per
 * turn instead of one per statement), and an answer reaches its client only once its statement's
 * record is in the file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, type Socket } from 'node:net';
import { AuditLog, rotatedFiles, verifyAuditFiles, type ChainHead } from '../../audit/audit-log';
import { createAuditObserver } from '../../audit/audit-observer';
import { streamSink } from '../../audit/security-events';
import { PassThrough } from 'node:stream';
import { ClientOutput } from '../../proxy/session/client-output';
import { startStack, type Stack } from '../support/pgveil-stack';

const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('a batched audit log', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'pgveil-batch-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('writes the records of one turn together at its end, and lets waiters go only then', async () => {
    const file = join(dir, 'audit.jsonl');
    const log = new AuditLog(file, undefined, {}, { batched: true });
    for (const n of [1, 2, 3]) expect(log.append({ statement: `s${n}` })).toBe(true);
    expect(lines(file)).toEqual([]);
    expect(log.pending).toBe(true);
    const seen: number[] = [];
    log.whenWritten(() => seen.push(lines(file).length));
    await turn();
    expect(seen).toEqual([3]);
    expect(log.pending).toBe(false);
    log.append({ statement: 's4' });
    await turn();
    // Nothing waits: a waiter goes at once.
    log.whenWritten(() => seen.push(lines(file).length));
    expect(seen).toEqual([3, 4]);
    expect(lines(file).map((l) => (JSON.parse(l) as { statement: string }).statement)).toEqual([
      's1',
      's2',
      's3',
      's4',
    ]);
    expect(verifyAuditFiles([file], undefined)).toMatchObject({ ok: true, records: 4 });
    log.close();
  });

  test('the head a checkpoint anchors is in the file, and close writes what waits', () => {
    const file = join(dir, 'audit.jsonl');
    const log = new AuditLog(file, undefined, {}, { batched: true });
    log.append({ statement: 'a' });
    log.append({ statement: 'b' });
    const head = log.head;
    expect(head.records).toBe(2);
    expect(lines(file)).toHaveLength(2);
    expect((JSON.parse(lines(file)[1]!) as { hash: string }).hash).toBe(head.head);
    log.append({ statement: 'c' });
    log.close();
    expect(lines(file)).toHaveLength(3);
  });

  test('a rotation falls between batches, and names the head the finished file ends with', async () => {
    const file = join(dir, 'audit.jsonl');
    const log = new AuditLog(file, undefined, { maxBytes: 200 }, { batched: true });
    const rotations: ChainHead[] = [];
    log.onRotation((head) => rotations.push(head));
    for (let batch = 0; batch < 4; batch++) {
      for (let n = 0; n < 3; n++) log.append({ statement: `batch ${batch} record ${n}` });
      await turn();
    }
    log.close();
    const files = [...rotatedFiles(file), file];
    // Every file holds whole batches of three.
    expect(files.map((f) => lines(f).length)).toEqual([3, 3, 3, 3]);
    expect(rotations.map((r) => r.records)).toEqual([3, 6, 9]);
    for (const [i, rotation] of rotations.entries())
      expect((JSON.parse(lines(files[i]!).at(-1)!) as { hash: string }).hash).toBe(rotation.head);
    expect(verifyAuditFiles(files, undefined)).toMatchObject({ ok: true, records: 12 });
  });

  test('a failed batch is counted whole, the log is no longer writable, and waiters still go on', async () => {
    // Every write to /dev/full fails with ENOSPC.
    const failed: number[] = [];
    const log = new AuditLog('/dev/full', undefined, {}, { batched: true, onWriteFailed: (n) => failed.push(n) });
    expect(log.writable).toBe(true);
    log.append({ statement: 'x' });
    log.append({ statement: 'y' });
    let released = false;
    log.whenWritten(() => (released = true));
    await turn();
    expect(released).toBe(true);
    expect(failed).toEqual([2]);
    expect(log.writable).toBe(false);
    expect(log.failure).toContain('ENOSPC');
    expect(log.append({ statement: 'z' })).toBe(false);
    log.close();
  });
});

/** A connected pair of loopback sockets. */
async function socketPair(): Promise<{ sender: Socket; receiver: Socket; close: () => void }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const receiver = connect((server.address() as { port: number }).port, '127.0.0.1');
  const sender = await accepted;
  return {
    sender,
    receiver,
    close: () => {
      sender.destroy();
      receiver.destroy();
      server.close();
    },
  };
}

/** What an established session sends its client through, with no upstream to pause. */
const clientOutput = (sender: Socket, observer: ReturnType<typeof createAuditObserver>): ClientOutput =>
  new ClientOutput(
    () => sender,
    () => undefined,
    observer,
    () => true,
  );

/** A batched audit log in a directory of its own, and the observer that writes to it. */
function batchedObserver(): {
  dir: string;
  file: string;
  log: AuditLog;
  observer: ReturnType<typeof createAuditObserver>;
} {
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-batch-'));
  const file = join(dir, 'audit.jsonl');
  const log = new AuditLog(file, undefined, {}, { batched: true });
  const observer = createAuditObserver({
    log,
    events: streamSink('test', new PassThrough()),
    rawStatements: false,
    failClosed: true,
  });
  return { dir, file, log, observer };
}

test("the client's bytes wait for the records of the turn, then leave in order, after the records are in the file", async () => {
  const { dir, file, log, observer } = batchedObserver();
  const { sender, receiver, close } = await socketPair();
  try {
    const output = clientOutput(sender, observer);
    output.send(Buffer.from('before '));
    // Nothing waits: sent at once.
    expect(sender.bytesWritten).toBe(7);
    log.append({ statement: 'answered' });
    output.send(Buffer.from('answer '));
    output.send(Buffer.from('more'));
    expect(sender.bytesWritten).toBe(7);
    let fileAtRelease = -1;
    log.whenWritten(() => (fileAtRelease = lines(file).length));
    const received: Buffer[] = [];
    receiver.on('data', (chunk: Buffer) => received.push(chunk));
    await turn();
    expect(fileAtRelease).toBe(1);
    expect(sender.bytesWritten).toBe(18);
    while (Buffer.concat(received).length < 18) await new Promise((r) => setTimeout(r, 5));
    expect(Buffer.concat(received).toString()).toBe('before answer more');
  } finally {
    close();
    log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing session sends what it holds, its records written first, before its error', async () => {
  const { dir, file, log, observer } = batchedObserver();
  const { sender, close } = await socketPair();
  try {
    const output = clientOutput(sender, observer);
    log.append({ statement: 'answered' });
    output.send(Buffer.from('answer'));
    expect(sender.bytesWritten).toBe(0);
    output.flushHeld();
    expect(lines(file)).toHaveLength(1);
    expect(sender.bytesWritten).toBe(6);
  } finally {
    close();
    log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('through pgveil', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('audit_batch');
  });
  afterAll(() => stack.stop());

  // In one process the client reads in a later turn than pgveil writes, so this shows every record
  // is in the file and chained, not the order (the two tests above show the order).
  test('every statement of interleaved sessions is in the file, chained, when its client has the answer', async () => {
    const clients = await Promise.all([0, 1, 2, 3].map((i) => stack.connect(i % 2 === 0 ? 'analyst' : 'steward')));
    try {
      const missing: string[] = [];
      await Promise.all(
        clients.map(async (client, c) => {
          for (let n = 0; n < 25; n++) {
            const alias = `batch_c${c}_n${n}`;
            await client.query(`SELECT count(*) AS ${alias} FROM customers`);
            // Read at once, on receipt: the record must be there already.
            if (!readFileSync(stack.auditFile, 'utf8').includes(`AS ${alias} FROM`)) missing.push(alias);
          }
        }),
      );
      expect(missing).toEqual([]);
      expect(verifyAuditFiles([stack.auditFile], undefined)).toMatchObject({ ok: true });
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});
