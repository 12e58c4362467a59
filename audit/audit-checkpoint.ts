/**
 * Checkpoints anchor the head of the audit chain outside the file: the number of records and the
 * last record's hash, signed with the audit key (HMAC-SHA256), sent to the event sinks (and a Redis
 * stream when Redis is configured) at start, at an interval, at rotation and at shutdown. A log cut
 * at its end, emptied or replaced no longer reaches or matches the checkpoints already delivered,
 * which `pgveil audit verify --checkpoints` compares it with.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type Redis from 'ioredis';
import { canonicalize } from 'json-canonicalize';
import type { AuditLog, ChainAnchor } from './audit-log';
import type { SecurityEvent } from './security-events';

type CheckpointReason = 'start' | 'interval' | 'rotation' | 'shutdown';

export interface AuditCheckpoint {
  /** Which audit log: by default `<host name>:<absolute path>` (`audit.logName`). */
  readonly log: string;
  readonly records: number;
  /** Hash of record number `records` (64 zeros for an empty log). */
  readonly head: string;
  readonly time: string;
  readonly reason: CheckpointReason;
  /** HMAC-SHA256 with the audit key over the other fields' canonical form; null for an unkeyed log. */
  readonly signature: string | null;
}

type Unsigned = Omit<AuditCheckpoint, 'signature'>;

/** Set apart from the chain's hashes, which are HMACs with the same key over other text. */
const SIGNING_CONTEXT = 'pgveil audit checkpoint\n';

function signatureOf(fields: Unsigned, secret: Buffer): string {
  const { log, records, head, time, reason } = fields;
  return createHmac('sha256', secret)
    .update(SIGNING_CONTEXT)
    .update(canonicalize({ log, records, head, time, reason }))
    .digest('hex');
}

export function signCheckpoint(fields: Unsigned, secret: Buffer | undefined): AuditCheckpoint {
  return { ...fields, signature: secret ? signatureOf(fields, secret) : null };
}

/** Why a checkpoint cannot be trusted with this key (a forged or unsigned one), or undefined. */
function checkpointSignatureProblem(checkpoint: AuditCheckpoint, secret: Buffer | undefined): string | undefined {
  if (!secret)
    return checkpoint.signature === null ? undefined : 'it is signed: give the audit key (--secret-env) to check it';
  if (checkpoint.signature === null) return 'it is not signed although the log is keyed: forged';
  const expected = Buffer.from(signatureOf(checkpoint, secret), 'hex');
  const given = Buffer.from(checkpoint.signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected)
    ? undefined
    : 'its signature does not match the audit key: forged';
}

/** The security event that carries a checkpoint (docs/audit.md). */
export function checkpointEvent(checkpoint: AuditCheckpoint): SecurityEvent {
  return {
    time: checkpoint.time,
    kind: 'audit_checkpoint',
    severity: 'low',
    actor: { user: null, session: '', client: '' },
    dataProduct: null,
    message: `audit log ${checkpoint.log}: ${checkpoint.records} records, head ${checkpoint.head}`,
    reasons: [checkpoint.reason],
    checkpoint,
  };
}

const HEX64 = /^[0-9a-f]{64}$/;

function asCheckpoint(value: unknown): AuditCheckpoint | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const c = value as Record<string, unknown>;
  const ok =
    typeof c.log === 'string' &&
    Number.isSafeInteger(c.records) &&
    (c.records as number) >= 0 &&
    typeof c.head === 'string' &&
    HEX64.test(c.head) &&
    typeof c.time === 'string' &&
    typeof c.reason === 'string' &&
    (c.signature === null || (typeof c.signature === 'string' && HEX64.test(c.signature)));
  return ok ? (c as unknown as AuditCheckpoint) : undefined;
}

/**
 * The checkpoints in a text of JSON lines: an events file (the `audit_checkpoint` events' own
 * `checkpoint`), or one checkpoint per line. Other events are skipped; a line that is not JSON, or
 * a checkpoint event without a well-formed checkpoint, is an error: nothing is silently ignored
 * that claims to be a checkpoint.
 */
export function readCheckpoints(text: string, source: string): AuditCheckpoint[] {
  const found: AuditCheckpoint[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`${source}:${i + 1}: not JSON`);
    }
    if (typeof value !== 'object' || value === null) return;
    const record = value as { kind?: unknown; checkpoint?: unknown };
    const claimed =
      record.kind === 'audit_checkpoint'
        ? record.checkpoint
        : 'head' in record && 'records' in record
          ? record
          : undefined;
    if (claimed === undefined) return;
    const checkpoint = asCheckpoint(claimed);
    if (!checkpoint) throw new Error(`${source}:${i + 1}: malformed audit checkpoint`);
    found.push(checkpoint);
  });
  return found;
}

/**
 * The anchors the verifier checks the chain against: the checkpoints of one log, each with a good
 * signature. A checkpoint with a bad signature is a problem, not something to skip: someone wrote
 * it into the sink.
 */
export function anchorsOf(
  checkpoints: readonly AuditCheckpoint[],
  secret: Buffer | undefined,
  log: string | undefined,
): { anchors: ChainAnchor[] } | { problem: string } {
  const logs = [...new Set(checkpoints.map((c) => c.log))];
  if (log === undefined && logs.length > 1)
    return { problem: `checkpoints of several logs (${logs.map((l) => `"${l}"`).join(', ')}): name one with --log` };
  const anchors: ChainAnchor[] = [];
  for (const checkpoint of checkpoints) {
    if (log !== undefined && checkpoint.log !== log) continue;
    const name = `${checkpoint.reason} checkpoint of ${checkpoint.time}`;
    const problem = checkpointSignatureProblem(checkpoint, secret);
    if (problem) return { problem: `${name}: ${problem}` };
    anchors.push({ name, records: checkpoint.records, head: checkpoint.head });
  }
  if (anchors.length === 0)
    return { problem: log === undefined ? 'no audit checkpoints found' : `no audit checkpoints of log "${log}"` };
  return { anchors };
}

export interface CheckpointOptions {
  readonly log: AuditLog;
  readonly name: string;
  readonly secret: Buffer | undefined;
  /** Between two interval checkpoints; one is sent only when records were written since the last. */
  readonly intervalMs: number;
  readonly emit: (event: SecurityEvent) => void;
  /** Also XADD each checkpoint to this Redis stream (capped at about 100,000 entries). */
  readonly redis?: { readonly client: Redis; readonly key: string };
}

export interface Checkpoints {
  checkpoint(reason: CheckpointReason): AuditCheckpoint;
  /**
   * Stops the timer and sends the shutdown checkpoint: call before the log, the sinks and Redis
   * close. Resolves once Redis has it (or failed to take it).
   */
  stop(): Promise<void>;
}

export function startCheckpoints(options: CheckpointOptions): Checkpoints {
  let lastRecords = -1;
  let delivered: Promise<unknown> = Promise.resolve();
  const checkpoint = (reason: CheckpointReason): AuditCheckpoint => {
    const { records, head } = options.log.head;
    const signed = signCheckpoint(
      { log: options.name, records, head, time: new Date().toISOString(), reason },
      options.secret,
    );
    lastRecords = records;
    options.emit(checkpointEvent(signed));
    // Never waits and never fails a statement: a Redis outage shows as the stream's gap.
    if (options.redis)
      delivered = options.redis.client
        .xadd(options.redis.key, 'MAXLEN', '~', '100000', '*', 'checkpoint', JSON.stringify(signed))
        .catch(() => undefined);
    return signed;
  };
  options.log.onRotation(() => void checkpoint('rotation'));
  checkpoint('start');
  const timer = setInterval(() => {
    if (options.log.head.records !== lastRecords) checkpoint('interval');
  }, options.intervalMs);
  timer.unref();
  return {
    checkpoint,
    async stop() {
      clearInterval(timer);
      checkpoint('shutdown');
      if (!options.redis) return;
      // An unreachable Redis must not hold the shutdown.
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([delivered, new Promise((r) => (timeout = setTimeout(r, 2000)))]);
      clearTimeout(timeout);
    },
  };
}
