/**
 * The audit log: JSON lines, append-only, each record carrying the hash of the previous one (an
 * HMAC when a secret is configured), so an edited, removed, inserted or reordered record breaks the
 * chain. The chain continues across restarts: the last hash is read back when the file is opened.
 */
import { createHmac, hash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const GENESIS = '0'.repeat(64);

export function chainHash(previous: string, body: string, secret: Buffer | undefined): string {
  if (secret) return createHmac('sha256', secret).update(previous).update('\n').update(body).digest('hex');
  // One-shot hashing: no Hash object per record.
  return hash('sha256', `${previous}\n${body}`, 'hex');
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
  private failed: Error | undefined;
  private size = 0;
  private openedAt = Date.now();

  constructor(
    private readonly path: string,
    private readonly secret: Buffer | undefined,
    private readonly rotation: RotationOptions = {},
  ) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      // Continue the chain from the newest record, in the current file or the newest rotated one.
      const newest = [...rotatedFiles(path), ...(existsSync(path) ? [path] : [])].reverse().find((f) => statSync(f).size > 0);
      if (newest) this.last = lastHash(newest);
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

  /**
   * Appends one record; false when it could not be written. Writes are synchronous on purpose: a
   * statement is answered only after its record is in the file, and records keep their order.
   */
  append(record: Record<string, unknown>): boolean {
    return this.appendJson(JSON.stringify(record));
  }

  /** Appends one record given as JSON object text (callers that serialize parts ahead of time). */
  appendJson(json: string): boolean {
    if (this.fd === undefined || this.failed) return false;
    const body = `${json.slice(0, -1)},"prev":"${this.last}"}`;
    const hash = chainHash(this.last, body, this.secret);
    const line = `${body.slice(0, -1)},"hash":"${hash}"}\n`;
    try {
      this.rotateIfDue();
      writeSync(this.fd, line);
      this.size += Buffer.byteLength(line);
      this.last = hash;
      return true;
    } catch (error) {
      this.failed = error as Error;
      return false;
    }
  }

  private rotateIfDue(): void {
    const { maxBytes, maxAgeMs } = this.rotation;
    const due = (maxBytes !== undefined && this.size >= maxBytes) || (maxAgeMs !== undefined && this.size > 0 && Date.now() - this.openedAt >= maxAgeMs);
    if (!due || this.fd === undefined) return;
    closeSync(this.fd);
    const existing = rotatedFiles(this.path);
    renameSync(this.path, rotatedName(this.path, existing.length + 1));
    this.open();
  }

  close(): void {
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

/** The hash of a file's last record, reading only as much of its end as that record needs. */
function lastHash(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    for (let window = 64 * 1024; ; window *= 4) {
      const start = Math.max(0, size - window);
      const tail = Buffer.alloc(size - start);
      readSync(fd, tail, 0, tail.length, start);
      const lines = tail.toString('utf8').split('\n').filter((l) => l.length > 0);
      // The first line of a window that does not start the file may be cut: it does not count.
      if (lines.length > (start > 0 ? 1 : 0)) return (JSON.parse(lines[lines.length - 1]!) as { hash: string }).hash;
      if (start === 0) return GENESIS;
    }
  } finally {
    closeSync(fd);
  }
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly records: number;
  /** Hash of the last good record: publish it elsewhere to detect later truncation. */
  readonly lastHash?: string;
  /** `file:line: why` of the first broken record. */
  readonly problem?: string;
}

/** Checks the chain over files given oldest first. */
export function verifyAuditFiles(paths: readonly string[], secret: Buffer | undefined): VerifyResult {
  let previous = GENESIS;
  let records = 0;
  for (const path of paths) {
    const lines = readFileSync(path, 'utf8').split('\n');
    if (lines[lines.length - 1] !== '') return { ok: false, records, problem: `${path}:${lines.length}: truncated record (no final newline)` };
    for (let i = 0; i < lines.length - 1; i++) {
      const where = `${path}:${i + 1}`;
      let parsed: { prev?: string; hash?: string };
      try {
        parsed = JSON.parse(lines[i]!) as { prev?: string; hash?: string };
      } catch {
        return { ok: false, records, problem: `${where}: not a JSON record` };
      }
      const line = lines[i]!;
      const body = `${line.slice(0, line.lastIndexOf(',"hash":"'))}}`;
      if (parsed.prev !== previous) return { ok: false, records, problem: `${where}: chain broken: a record before it was removed, inserted or reordered` };
      if (chainHash(previous, body, secret) !== parsed.hash) return { ok: false, records, problem: `${where}: record was edited` };
      previous = parsed.hash!;
      records++;
    }
  }
  return { ok: true, records, ...(records > 0 ? { lastHash: previous } : {}) };
}
