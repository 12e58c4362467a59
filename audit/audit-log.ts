/**
 * The audit log: JSON lines, append-only, each record carrying the hash of the previous one (an
 * HMAC when a secret is configured), so an edited, removed, inserted or reordered record breaks the
 * chain. The chain continues across restarts: the last hash is read back when the file is opened.
 */
import { createHash, createHmac } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const GENESIS = '0'.repeat(64);

export function chainHash(previous: string, body: string, secret: Buffer | undefined): string {
  const h = secret ? createHmac('sha256', secret) : createHash('sha256');
  return h.update(previous).update('\n').update(body).digest('hex');
}

export class AuditLog {
  private fd: number | undefined;
  private last = GENESIS;
  private failed: Error | undefined;

  constructor(
    private readonly path: string,
    private readonly secret: Buffer | undefined,
  ) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      if (existsSync(path)) this.last = lastHash(path);
      this.fd = openSync(path, 'a');
    } catch (error) {
      this.failed = error as Error;
    }
  }

  /** False once a write failed: the proxy then refuses statements rather than run them unaudited. */
  get writable(): boolean {
    return this.fd !== undefined && this.failed === undefined;
  }

  /**
   * Appends one record. Writes are synchronous on purpose: a statement is answered only after its
   * record is in the file, and records keep their order.
   */
  append(record: Record<string, unknown>): void {
    if (this.fd === undefined) return;
    const body = JSON.stringify({ ...record, prev: this.last });
    const hash = chainHash(this.last, body, this.secret);
    try {
      writeSync(this.fd, `${body.slice(0, -1)},"hash":"${hash}"}\n`);
      this.last = hash;
    } catch (error) {
      this.failed = error as Error;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function lastHash(path: string): string {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const last = lines[lines.length - 1];
  return last ? (JSON.parse(last) as { hash: string }).hash : GENESIS;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly records: number;
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
  return { ok: true, records };
}
