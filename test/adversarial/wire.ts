/**
 * Raw-frame helpers for the adversarial suites: frontend messages real drivers cannot express, and
 * a reader that turns the backend frames up to ReadyForQuery into comparable data (every value as
 * the text PostgreSQL sent, COPY data as lines, errors as SQLSTATEs).
 */
import { FrontendCode } from '../../proxy/protocol/message-codes';
import * as write from '../../proxy/protocol/message-writer';
import { RawClient, errorFields, type BackendFrame } from '../support/raw-client';
import { PG_PORT, PG_SUPERUSER } from '../support/postgres';

const cstr = (s: string | Buffer): Buffer =>
  Buffer.concat([typeof s === 'string' ? Buffer.from(s, 'utf8') : s, Buffer.from([0])]);
const i16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** Frontend messages, with byte-level freedom (names and SQL may be Buffers holding any bytes). */
export const msg = {
  query: (sql: string | Buffer): Buffer => write.frame(FrontendCode.Query, cstr(sql)),
  parse: (name: string, sql: string | Buffer, typeOids: readonly number[] = []): Buffer =>
    write.frame(FrontendCode.Parse, Buffer.concat([cstr(name), cstr(sql), i16(typeOids.length), ...typeOids.map(i32)])),
  /** Bind with text parameters (null for SQL NULL), text results unless resultFormats says otherwise. */
  bind: (
    portal: string,
    statement: string,
    params: ReadonlyArray<string | Buffer | null> = [],
    paramFormats: readonly number[] = [],
    resultFormats: readonly number[] = [],
  ): Buffer =>
    write.frame(
      FrontendCode.Bind,
      Buffer.concat([
        cstr(portal),
        cstr(statement),
        i16(paramFormats.length),
        ...paramFormats.map(i16),
        i16(params.length),
        ...params.map((p) =>
          p === null ? i32(-1) : Buffer.concat([i32(Buffer.byteLength(p)), typeof p === 'string' ? Buffer.from(p) : p]),
        ),
        i16(resultFormats.length),
        ...resultFormats.map(i16),
      ]),
    ),
  describeStatement: (name: string): Buffer =>
    write.frame(FrontendCode.Describe, Buffer.concat([Buffer.from('S'), cstr(name)])),
  describePortal: (name: string): Buffer =>
    write.frame(FrontendCode.Describe, Buffer.concat([Buffer.from('P'), cstr(name)])),
  execute: (portal: string, maxRows = 0): Buffer =>
    write.frame(FrontendCode.Execute, Buffer.concat([cstr(portal), i32(maxRows)])),
  closeStatement: (name: string): Buffer =>
    write.frame(FrontendCode.Close, Buffer.concat([Buffer.from('S'), cstr(name)])),
  closePortal: (name: string): Buffer => write.frame(FrontendCode.Close, Buffer.concat([Buffer.from('P'), cstr(name)])),
  sync: (): Buffer => write.frame(FrontendCode.Sync, Buffer.alloc(0)),
  flush: (): Buffer => write.frame(FrontendCode.Flush, Buffer.alloc(0)),
  copyData: (data: string | Buffer): Buffer =>
    write.frame(FrontendCode.CopyData, typeof data === 'string' ? Buffer.from(data) : data),
  copyDone: (): Buffer => write.frame(FrontendCode.CopyDone, Buffer.alloc(0)),
  copyFail: (message: string): Buffer => write.copyFail(message),
  /** FunctionCall: function OID, argument formats, arguments, result format. */
  functionCall: (oid: number, args: readonly string[]): Buffer =>
    write.frame(
      FrontendCode.FunctionCall,
      Buffer.concat([
        i32(oid),
        i16(0),
        i16(args.length),
        ...args.map((a) => Buffer.concat([i32(Buffer.byteLength(a)), Buffer.from(a)])),
        i16(0),
      ]),
    ),
};

/** One result of a statement, as comparable data. */
export type ResultItem =
  | {
      readonly kind: 'rows';
      readonly columns: readonly string[];
      readonly rows: ReadonlyArray<ReadonlyArray<string | null>>;
      readonly tag: string;
    }
  | { readonly kind: 'copy'; readonly lines: readonly string[]; readonly tag: string }
  | { readonly kind: 'command'; readonly tag: string }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

/** Decodes one DataRow body into text values (null for SQL NULL). */
export function dataRow(body: Buffer): Array<string | null> {
  const n = body.readInt16BE(0);
  const out: Array<string | null> = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(at);
    at += 4;
    if (len < 0) out.push(null);
    else {
      out.push(body.toString('utf8', at, at + len));
      at += len;
    }
  }
  return out;
}

export function rowDescription(body: Buffer): string[] {
  const n = body.readInt16BE(0);
  const names: string[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const end = body.indexOf(0, at);
    names.push(body.toString('utf8', at, end));
    at = end + 1 + 18;
  }
  return names;
}

/** Turns frames (up to and including ReadyForQuery) into results. Notices and parameter statuses are dropped. */
function toResults(frames: readonly BackendFrame[]): ResultItem[] {
  const out: ResultItem[] = [];
  let columns: string[] | undefined;
  let rows: Array<Array<string | null>> = [];
  let copy: string[] | undefined;
  for (const f of frames) {
    switch (f.code) {
      case 'T':
        columns = rowDescription(f.body);
        rows = [];
        break;
      case 'D':
        rows.push(dataRow(f.body));
        break;
      case 'H':
        copy = [];
        break;
      case 'd':
        copy?.push(f.body.toString('utf8'));
        break;
      case 'C': {
        const tag = f.body.toString('utf8', 0, f.body.length - 1);
        if (copy) out.push({ kind: 'copy', lines: copy, tag });
        else if (columns) out.push({ kind: 'rows', columns, rows, tag });
        else out.push({ kind: 'command', tag });
        columns = undefined;
        copy = undefined;
        rows = [];
        break;
      }
      case 's': // PortalSuspended: the rows so far are one (partial) result
        out.push({ kind: 'rows', columns: columns ?? [], rows, tag: 'suspended' });
        rows = [];
        break;
      case 'E': {
        const e = errorFields(f);
        out.push({ kind: 'error', code: e.get('C') ?? '?', message: e.get('M') ?? '' });
        columns = undefined;
        copy = undefined;
        rows = [];
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/** Every byte a client received, as one string, for the canary check. */
export const frameText = (frames: readonly BackendFrame[]): string =>
  frames.map((f) => f.code + f.body.toString('latin1')).join('');

/** A session straight to the upstream PostgreSQL as superuser (trust), with startup options. */
export async function directSession(database: string, options?: string): Promise<RawClient> {
  const c = await RawClient.open(PG_PORT);
  const params = new Map([
    ['user', PG_SUPERUSER],
    ['database', database],
  ]);
  if (options) params.set('options', options);
  c.send(write.startupMessage(params));
  await c.until('Z');
  return c;
}

export async function simple(c: RawClient, sql: string): Promise<{ results: ResultItem[]; frames: BackendFrame[] }> {
  c.send(msg.query(sql));
  const frames = await c.until('Z');
  return { results: toResults(frames), frames };
}

export async function extended(c: RawClient, sql: string): Promise<{ results: ResultItem[]; frames: BackendFrame[] }> {
  c.send(Buffer.concat([msg.parse('', sql), msg.bind('', ''), msg.describePortal(''), msg.execute(''), msg.sync()]));
  const frames = await c.until('Z');
  return { results: toResults(frames), frames };
}
