/**
 * Checkpoints anchor the chain's head outside the file: with them, records cut from the end, an
 * emptied file and a replaced one are found, and a checkpoint with a bad signature is refused.
 */
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  anchorsOf,
  AuditLog,
  chainOrder,
  GENESIS,
  readCheckpoints,
  rotatedFiles,
  signCheckpoint,
  startCheckpoints,
  verifyAuditFiles,
  type AuditCheckpoint,
  type SecurityEvent,
} from '../../audit';

const secret = Buffer.from('audit-key');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgveil-checkpoint-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A log of `n` records and the checkpoints it sent: at start (empty) and one after the records. */
function logWithCheckpoints(path: string, n: number, key = secret): { events: SecurityEvent[] } {
  const events: SecurityEvent[] = [];
  const log = new AuditLog(path, key);
  const checkpoints = startCheckpoints({
    log,
    name: 'host-a:/var/log/pgveil/audit.jsonl',
    secret: key,
    intervalMs: 3_600_000,
    emit: (e) => events.push(e),
  });
  for (let i = 1; i <= n; i++) log.append({ statement: `SELECT ${i}`, rows: i });
  checkpoints.checkpoint('interval');
  void checkpoints.stop();
  log.close();
  return { events };
}

/** Verifies `paths` against the checkpoints of an events text, as `audit verify --checkpoints` does. */
function verifyWith(paths: string[], eventsText: string, keyed: Buffer | 'unkeyed' = secret) {
  const key = keyed === 'unkeyed' ? undefined : keyed;
  const anchors = anchorsOf(readCheckpoints(eventsText, 'events.jsonl'), key, undefined);
  if ('problem' in anchors) return { ok: false, records: 0, problem: anchors.problem };
  return verifyAuditFiles(chainOrder(paths), key, anchors.anchors);
}

const asEventsFile = (events: readonly SecurityEvent[]): string => events.map((e) => `${JSON.stringify(e)}\n`).join('');

test('a checkpoint is an audit_checkpoint event with the record count and head hash, signed with the audit key', () => {
  const file = join(dir, 'audit.jsonl');
  const { events } = logWithCheckpoints(file, 3);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const head = (JSON.parse(lines[2]!) as { hash: string }).hash;
  expect(events.map((e) => [e.kind, e.reasons, e.checkpoint?.records, e.checkpoint?.head])).toEqual([
    ['audit_checkpoint', ['start'], 0, GENESIS],
    ['audit_checkpoint', ['interval'], 3, head],
    ['audit_checkpoint', ['shutdown'], 3, head],
  ]);
  const checkpoint = events[1]!.checkpoint!;
  expect(checkpoint).toEqual(
    signCheckpoint(
      { log: 'host-a:/var/log/pgveil/audit.jsonl', records: 3, head, time: checkpoint.time, reason: 'interval' },
      secret,
    ),
  );
  expect(checkpoint.signature).toMatch(/^[0-9a-f]{64}$/);
  expect(events[1]!.message).toBe(`audit log host-a:/var/log/pgveil/audit.jsonl: 3 records, head ${head}`);
});

test('an intact log matches its checkpoints', () => {
  const file = join(dir, 'audit.jsonl');
  const { events } = logWithCheckpoints(file, 5);
  expect(verifyWith([file], asEventsFile(events))).toMatchObject({ ok: true, records: 5 });
});

test('records cut from the end are found (the chain alone still verifies)', () => {
  const file = join(dir, 'audit.jsonl');
  const { events } = logWithCheckpoints(file, 5);
  const lines = readFileSync(file, 'utf8').split('\n');
  writeFileSync(file, `${lines.slice(0, 3).join('\n')}\n`);
  expect(verifyAuditFiles([file], secret)).toMatchObject({ ok: true, records: 3 });
  expect(verifyWith([file], asEventsFile(events))).toEqual({
    ok: false,
    records: 3,
    lastHash: (JSON.parse(lines[2]!) as { hash: string }).hash,
    problem: expect.stringMatching(
      /^the interval checkpoint of \S+ counts 5 records but the log has 3: records were cut from its end, or it was emptied or replaced$/,
    ),
  });
});

test('an emptied log is found', () => {
  const file = join(dir, 'audit.jsonl');
  const { events } = logWithCheckpoints(file, 5);
  writeFileSync(file, '');
  expect(verifyAuditFiles([file], secret)).toEqual({ ok: true, records: 0 });
  expect(verifyWith([file], asEventsFile(events))).toMatchObject({
    ok: false,
    records: 0,
    problem: expect.stringMatching(/counts 5 records but the log has 0/),
  });
});

test('a replaced log is found, even one built with the audit key and as long as the original', () => {
  const file = join(dir, 'audit.jsonl');
  const { events } = logWithCheckpoints(file, 5);
  const forged = join(dir, 'forged.jsonl');
  const log = new AuditLog(forged, secret);
  for (let i = 1; i <= 5; i++) log.append({ statement: `SELECT ${i}`, rows: i === 4 ? 0 : i });
  log.close();
  copyFileSync(forged, file);
  expect(verifyAuditFiles([file], secret)).toMatchObject({ ok: true, records: 5 });
  expect(verifyWith([file], asEventsFile(events))).toMatchObject({
    ok: false,
    records: 5,
    problem: expect.stringMatching(
      /audit\.jsonl:5: record 5 does not match the interval checkpoint of \S+: the log was replaced or rewritten$/,
    ),
  });
});

test('a forged checkpoint (bad HMAC) is refused, not skipped', () => {
  const file = join(dir, 'audit.jsonl');
  const { events } = logWithCheckpoints(file, 5);
  const genuine = events[1]!.checkpoint!;
  // Someone who can write to the sink but has not the key claims the log had 2 records.
  const forged: AuditCheckpoint = {
    ...genuine,
    records: 2,
    head: (JSON.parse(readFileSync(file, 'utf8').split('\n')[1]!) as { hash: string }).hash,
  };
  expect(verifyWith([file], JSON.stringify(forged))).toEqual({
    ok: false,
    records: 0,
    problem: expect.stringMatching(/^interval checkpoint of \S+: its signature does not match the audit key: forged$/),
  });
  const signedWithAnotherKey = signCheckpoint({ ...genuine }, Buffer.from('not-the-audit-key'));
  expect(verifyWith([file], JSON.stringify(signedWithAnotherKey))).toMatchObject({
    ok: false,
    problem: expect.stringMatching(/forged$/),
  });
  const unsigned = { ...genuine, signature: null };
  expect(verifyWith([file], JSON.stringify(unsigned))).toMatchObject({
    ok: false,
    problem: expect.stringMatching(/not signed although the log is keyed: forged$/),
  });
});

test('an unkeyed log sends unsigned checkpoints, which still find a cut tail', () => {
  const file = join(dir, 'audit.jsonl');
  const events: SecurityEvent[] = [];
  const log = new AuditLog(file, undefined);
  const checkpoints = startCheckpoints({
    log,
    name: 'plain',
    secret: undefined,
    intervalMs: 3_600_000,
    emit: (e) => events.push(e),
  });
  for (let i = 1; i <= 4; i++) log.append({ n: i });
  void checkpoints.stop();
  log.close();
  expect(events[1]!.checkpoint!.signature).toBeNull();
  writeFileSync(file, readFileSync(file, 'utf8').split('\n').slice(0, 2).join('\n') + '\n');
  expect(verifyWith([file], asEventsFile(events), 'unkeyed')).toMatchObject({
    ok: false,
    records: 2,
    problem: expect.stringMatching(/shutdown checkpoint of \S+ counts 4 records but the log has 2/),
  });
});

test('a rotation sends a checkpoint of the finished file, and the chain runs through the files', () => {
  const file = join(dir, 'audit.jsonl');
  const events: SecurityEvent[] = [];
  const log = new AuditLog(file, secret, { maxBytes: 4096 });
  const checkpoints = startCheckpoints({
    log,
    name: 'rotating',
    secret,
    intervalMs: 3_600_000,
    emit: (e) => events.push(e),
  });
  for (let i = 1; i <= 60; i++) log.append({ statement: `SELECT ${'x'.repeat(100)} ${i}` });
  void checkpoints.stop();
  log.close();
  const files = [...rotatedFiles(file), file];
  expect(files.length).toBeGreaterThan(1);
  const firstFileLines = readFileSync(files[0]!, 'utf8').trim().split('\n');
  const rotation = events.find((e) => e.reasons[0] === 'rotation')!.checkpoint!;
  expect([rotation.records, rotation.head]).toEqual([
    firstFileLines.length,
    (JSON.parse(firstFileLines[firstFileLines.length - 1]!) as { hash: string }).hash,
  ]);
  expect(verifyWith(files, asEventsFile(events))).toMatchObject({ ok: true, records: 60 });
  // The newest file deleted: the rotated ones still verify alone, the checkpoints do not.
  expect(verifyWith(files.slice(0, -1), asEventsFile(events))).toMatchObject({
    ok: false,
    problem: expect.stringMatching(/shutdown checkpoint of \S+ counts 60 records/),
  });
});

test('the interval sends a checkpoint only when records were written since the last one', () => {
  jest.useFakeTimers();
  try {
    const events: SecurityEvent[] = [];
    const log = new AuditLog(join(dir, 'audit.jsonl'), secret);
    const checkpoints = startCheckpoints({ log, name: 'timed', secret, intervalMs: 1000, emit: (e) => events.push(e) });
    jest.advanceTimersByTime(3000);
    log.append({ n: 1 });
    jest.advanceTimersByTime(1000);
    jest.advanceTimersByTime(2000);
    void checkpoints.stop();
    log.close();
    expect(events.map((e) => [e.reasons[0], e.checkpoint!.records])).toEqual([
      ['start', 0],
      ['interval', 1],
      ['shutdown', 1],
    ]);
  } finally {
    jest.useRealTimers();
  }
});

test('checkpoints of several logs need --log; other events and bare checkpoints are read, malformed ones refused', () => {
  const a = signCheckpoint({ log: 'a', records: 0, head: GENESIS, time: 't', reason: 'start' }, secret);
  const b = signCheckpoint({ log: 'b', records: 0, head: GENESIS, time: 't', reason: 'start' }, secret);
  const text = `${JSON.stringify({ kind: 'statement_refused', message: 'x' })}\n${JSON.stringify({ kind: 'audit_checkpoint', checkpoint: a })}\n${JSON.stringify(b)}\n`;
  expect(readCheckpoints(text, 'f')).toEqual([a, b]);
  expect(anchorsOf([a, b], secret, undefined)).toEqual({
    problem: 'checkpoints of several logs ("a", "b"): name one with --log',
  });
  expect(anchorsOf([a, b], secret, 'b')).toEqual({
    anchors: [{ name: 'start checkpoint of t', records: 0, head: GENESIS }],
  });
  expect(() =>
    readCheckpoints(JSON.stringify({ kind: 'audit_checkpoint', checkpoint: { ...a, records: -1 } }), 'f'),
  ).toThrow('f:1: malformed audit checkpoint');
  const path = join(dir, 'x.jsonl');
  appendFileSync(path, 'not json\n');
  expect(() => readCheckpoints(readFileSync(path, 'utf8'), path)).toThrow(`${path}:1: not JSON`);
});
