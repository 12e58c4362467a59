/**
 * The audit log: JSON lines, append-only. Every line is the RFC 8785 (JCS) canonical serialization
 * of its record, and each record carries its number, the hash of the previous record and its own
 * hash over the canonical form of all its other fields (an HMAC when a secret is configured). So an
 * edited, added or removed field, a duplicated key, a removed, inserted or reordered record and a
 * record cut mid-line are all found by `verifyAuditFiles`. The chain continues across restarts and
 * rotations: the last record is read back when the file is opened.
 */
import { createHmac, hash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { canonicalize } from 'json-canonicalize';

export const GENESIS = '0'.repeat(64);

/** The hash of a record: over the previous record's hash, a newline and the record's bytes without "hash". */
function chainHash(previous: string, body: Buffer, secret: Buffer | undefined): string {
  if (secret) return createHmac('sha256', secret).update(previous).update('\n').update(body).digest('hex');
  // One-shot hashing over one buffer: no Hash object per record, and no string to encode again.
  const input = Buffer.allocUnsafe(previous.length + 1 + body.length);
  input.write(previous, 0, 'latin1');
  input[previous.length] = 0x0a;
  body.copy(input, previous.length + 1);
  return hash('sha256', input, 'hex');
}

const NEWLINE = Buffer.from('\n');

/** The fields the log itself adds to every record. */
const CHAIN_FIELDS = ['hash', 'number', 'prev'] as const;

/** The head of the chain: how many records it has and the hash of the last one. */
export interface ChainHead {
  readonly records: number;
  readonly head: string;
}

export interface WriteOptions {
  /**
   * Records appended in one turn of the event loop go to the file in one write, at the end of the
   * turn (setImmediate), instead of one write each: a system call per statement is a large share
   * of a statement's cost through the proxy. Whoever relays an answer waits for `whenWritten`.
   */
  readonly batched?: boolean;
  /** A batched write failed: how many records it held (an unbatched append returns false instead). */
  readonly onWriteFailed?: (records: number) => void;
}

export interface RotationOptions {
  /** Start a new file once the current one reaches this size. */
  readonly maxBytes?: number;
  /** Start a new file once the current one is this old. */
  readonly maxAgeMs?: number;
}

/** Rotated files are `<file>.000001`, `<file>.000002`, ... oldest first; the chain runs through them. */
const rotatedName = (path: string, seq: number): string => `${path}.${String(seq).padStart(6, '0')}`;

export class AuditLog {
  private fd: number | undefined;
  private last = GENESIS;
  private count = 0;
  private failed: Error | undefined;
  private size = 0;
  private openedAt = Date.now();
  private readonly rotationListeners: Array<(head: ChainHead) => void> = [];
  /** Batched: lines hashed into the chain and not yet in the file, and who waits for them. */
  private pendingLines: Buffer[] = [];
  /** The chain's head as far as it is in the file. */
  private written: ChainHead = { records: 0, head: GENESIS };
  private waiting: Array<() => void> = [];
  private flushScheduled = false;

  constructor(
    private readonly path: string,
    private readonly secret: Buffer | undefined,
    private readonly rotation: RotationOptions = {},
    private readonly writeOptions: WriteOptions = {},
  ) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      // Continue the chain from the newest record, in the current file or the newest rotated one.
      const newest = [...rotatedFiles(path), ...(existsSync(path) ? [path] : [])]
        .reverse()
        .find((f) => statSync(f).size > 0);
      if (newest) ({ head: this.last, records: this.count } = lastRecord(newest));
      this.written = { records: this.count, head: this.last };
      this.open();
    } catch (error) {
      this.failed = error as Error;
    }
  }

  private open(): void {
    this.fd = openSync(this.path, 'a');
    this.size = fstatSync(this.fd).size;
    this.openedAt = Date.now();
  }

  /** False once a write failed: the proxy then refuses statements rather than run them unaudited. */
  get writable(): boolean {
    return this.fd !== undefined && this.failed === undefined;
  }

  /** Why the log is not writable (for the operator's log), or undefined. */
  get failure(): string | undefined {
    return this.failed?.message;
  }

  /** What a checkpoint anchors: the number of records in the chain and the last one's hash (all in the file). */
  get head(): ChainHead {
    this.flush();
    return this.written;
  }

  /** True while records of this turn wait to be written (batched only). */
  get pending(): boolean {
    return this.pendingLines.length > 0;
  }

  /**
   * Calls `then` once every record appended so far is in the file (or its write failed, which
   * `writable` then says): at once when none waits.
   */
  whenWritten(then: () => void): void {
    if (this.pendingLines.length === 0) return then();
    this.waiting.push(then);
  }

  /** Writes the records waiting now, in one write, then lets whoever waits for them go on. */
  flush(): void {
    const lines = this.pendingLines;
    const waiting = this.waiting;
    this.pendingLines = [];
    this.waiting = [];
    if (lines.length > 0 && !this.write(Buffer.concat(lines), { records: this.count, head: this.last }))
      this.writeOptions.onWriteFailed?.(this.count - this.written.records);
    for (const then of waiting) then();
  }

  /** Called with the head of the chain whenever a file was rotated (the head the finished file ends with). */
  onRotation(listener: (head: ChainHead) => void): void {
    this.rotationListeners.push(listener);
  }

  /**
   * Appends one record (any JSON object without the chain's own fields); false when it could not be
   * written. Writes are synchronous on purpose: a statement is answered only after its record is
   * in the file, and records keep their order.
   */
  append(record: Readonly<Record<string, unknown>>): boolean {
    for (const field of CHAIN_FIELDS)
      if (field in record) throw new Error(`an audit record may not carry its own "${field}"`);
    return this.commit((number, prev) => {
      const body = Buffer.from(canonicalize({ ...record, number, prev }));
      return { body, line: (hash) => Buffer.from(canonicalize({ ...record, hash, number, prev })) };
    });
  }

  /**
   * Appends one record given as canonical (RFC 8785) JSON text in two parts: `head`, the opening
   * brace and the members that sort before "hash" (each followed by its comma), and `rest(chain)`,
   * the members from "number" on (which must include "number" and "prev" at their sorted places)
   * and the closing brace. The statement path serializes its parts ahead of time and concatenates
   * them here, so no record is serialized as an object; the hash goes in between, and the line
   * reuses the hashed text. The verifier refuses a line that is not canonical, so a member out of
   * order shows at once.
   */
  appendCanonical(head: string, rest: (chain: { readonly number: number; readonly prev: string }) => string): boolean {
    return this.commit((number, prev) => {
      // The record's parts are read once, into bytes; the hash and the line reuse them.
      const body = Buffer.from(`${head}${rest({ number, prev })}`);
      const at = Buffer.byteLength(head);
      return {
        body,
        line: (hash) => Buffer.concat([body.subarray(0, at), Buffer.from(`"hash":"${hash}",`), body.subarray(at)]),
      };
    });
  }

  /** Hashes the body (the record without "hash") and writes the line (the record with it). */
  private commit(
    record: (number: number, prev: string) => { readonly body: Buffer; readonly line: (hash: string) => Buffer },
  ): boolean {
    if (this.fd === undefined || this.failed) return false;
    const number = this.count + 1;
    const prev = this.last;
    const { body, line } = record(number, prev);
    const hash = chainHash(prev, body, this.secret);
    const text = Buffer.concat([line(hash), NEWLINE]);
    if (this.writeOptions.batched) {
      this.pendingLines.push(text);
      this.last = hash;
      this.count = number;
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
      return true;
    }
    if (!this.write(text, { records: number, head: hash })) return false;
    this.last = hash;
    this.count = number;
    return true;
  }

  /** Writes lines that bring the file's chain to `after`. */
  private write(text: Buffer, after: ChainHead): boolean {
    if (this.fd === undefined || this.failed) return false;
    try {
      // A rotation waits for a whole batch: a file never ends inside one turn's records.
      this.rotateIfDue();
      writeSync(this.fd, text);
      this.size += text.length;
      this.written = after;
      return true;
    } catch (error) {
      this.failed = error as Error;
      return false;
    }
  }

  private rotateIfDue(): void {
    const { maxBytes, maxAgeMs } = this.rotation;
    const due =
      (maxBytes !== undefined && this.size >= maxBytes) ||
      (maxAgeMs !== undefined && this.size > 0 && Date.now() - this.openedAt >= maxAgeMs);
    if (!due || this.fd === undefined) return;
    closeSync(this.fd);
    const existing = rotatedFiles(this.path);
    renameSync(this.path, rotatedName(this.path, existing.length + 1));
    this.open();
    // A listener's failure (a checkpoint that cannot be sent) must not fail the audit log.
    for (const listener of this.rotationListeners) {
      try {
        listener(this.written);
      } catch {
        // nothing to do: the listener reports its own failures
      }
    }
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The rotated files of an audit log, oldest first. */
export function rotatedFiles(path: string): string[] {
  const dir = dirname(path);
  const base = basename(path);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${base}.`) && /^\d{6}$/.test(f.slice(base.length + 1)))
    .sort()
    .map((f) => join(dir, f));
}

/** Orders files as the chain runs: rotated files by sequence, then the current file. */
export function chainOrder(paths: readonly string[]): string[] {
  const seq = (p: string): number => {
    const m = /\.(\d{6})$/.exec(p);
    return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
  };
  return [...paths].sort((a, b) => seq(a) - seq(b));
}

/** The number and hash of a file's last record, reading only as much of its end as that record needs. */
function lastRecord(path: string): ChainHead {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    for (let window = 64 * 1024; ; window *= 4) {
      const start = Math.max(0, size - window);
      const tail = Buffer.alloc(size - start);
      readSync(fd, tail, 0, tail.length, start);
      const lines = tail
        .toString('utf8')
        .split('\n')
        .filter((l) => l.length > 0);
      // The first line of a window that does not start the file may be cut: it does not count.
      if (lines.length > (start > 0 ? 1 : 0)) {
        const last = JSON.parse(lines[lines.length - 1]!) as { hash?: unknown; number?: unknown };
        if (typeof last.hash !== 'string' || typeof last.number !== 'number') {
          throw new Error(
            `the last record of ${path} has no "hash" or no "number": written before audit records were canonical (move the log away and verify it with the release that wrote it), or not an audit log`,
          );
        }
        return { records: last.number, head: last.hash };
      }
      if (start === 0) return { records: 0, head: GENESIS };
    }
  } finally {
    closeSync(fd);
  }
}

/** A checkpoint as the verifier needs it: the chain must have `records` records, the last with hash `head`. */
export interface ChainAnchor extends ChainHead {
  /** How to name this anchor in a problem, e.g. `shutdown checkpoint of 2026-12-01T10:00:00.000Z`. */
  readonly name: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly records: number;
  /** Hash of the last good record: publish it elsewhere to detect later truncation. */
  readonly lastHash?: string;
  /** `file:line: why` of the first broken record, or why an anchor does not hold. */
  readonly problem?: string;
}

type Parsed = { readonly [key: string]: unknown };

/**
 * Checks the chain over files given oldest first, and that every anchor (checkpoint) names a record
 * of it: a log cut at its end, emptied or replaced no longer reaches, or no longer matches, the
 * heads it had when the checkpoints were taken.
 */
export function verifyAuditFiles(
  paths: readonly string[],
  secret: Buffer | undefined,
  anchors: readonly ChainAnchor[] = [],
): VerifyResult {
  let previous = GENESIS;
  let records = 0;
  const byNumber = new Map<number, ChainAnchor[]>();
  for (const anchor of anchors) byNumber.set(anchor.records, [...(byNumber.get(anchor.records) ?? []), anchor]);
  const broken = (problem: string): VerifyResult => ({
    ok: false,
    records,
    ...(records > 0 ? { lastHash: previous } : {}),
    problem,
  });
  // An anchor at 0 records names the empty chain.
  for (const anchor of byNumber.get(0) ?? [])
    if (anchor.head !== GENESIS) return broken(`${anchor.name} names ${anchor.head} as the head of an empty log`);
  for (const path of paths) {
    const lines = readFileSync(path, 'utf8').split('\n');
    // Every record ends with a newline: what follows the last one is a record cut mid-line.
    for (let i = 0; i < lines.length; i++) {
      if (i === lines.length - 1) {
        if (lines[i] !== '') return broken(`${path}:${i + 1}: record cut mid-line (no final newline)`);
        break;
      }
      const where = `${path}:${i + 1}`;
      const line = lines[i]!;
      let parsed: Parsed;
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
        parsed = value as Parsed;
      } catch {
        return broken(`${where}: not a JSON record (cut mid-line, or not written by pgveil)`);
      }
      // JSON readers disagree about duplicated keys (most keep the last): the line must be exactly
      // the canonical form of what it parses to, which has each key once, sorted, in one spelling.
      if (canonicalForm(parsed) !== line)
        return broken(`${where}: not in canonical form: a duplicated key, or a field written other than by pgveil`);
      const { hash: claimed, ...body } = parsed;
      if (typeof claimed !== 'string') return broken(`${where}: record has no hash`);
      if (body.prev !== previous || body.number !== records + 1)
        return broken(`${where}: chain broken: a record before it was removed, inserted or reordered`);
      if (chainHash(previous, Buffer.from(canonicalize(body)), secret) !== claimed)
        return broken(`${where}: record was edited: a field was changed, added or removed`);
      previous = claimed;
      records++;
      for (const anchor of byNumber.get(records) ?? []) {
        if (anchor.head !== previous)
          return broken(
            `${where}: record ${records} does not match the ${anchor.name}: the log was replaced or rewritten`,
          );
      }
    }
  }
  const beyond = anchors.filter((a) => a.records > records).sort((a, b) => b.records - a.records)[0];
  if (beyond)
    return broken(
      `the ${beyond.name} counts ${beyond.records} records but the log has ${records}: records were cut from its end, or it was emptied or replaced`,
    );
  return { ok: true, records, ...(records > 0 ? { lastHash: previous } : {}) };
}

/** RFC 8785 form of a parsed record; undefined when it has none (a value canonicalization refuses). */
function canonicalForm(value: Parsed): string | undefined {
  try {
    return canonicalize(value);
  } catch {
    return undefined;
  }
}
