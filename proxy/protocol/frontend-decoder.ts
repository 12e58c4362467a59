/**
 * Splits the client's byte stream into messages. One framing buffer; a message is returned only
 * when all of its bytes are there, so a message split at any byte decodes the same. Lengths are
 * checked before anything is buffered: a bad or oversized length is a protocol violation.
 */
import { protocolViolation, PgError } from '../pg-error';
import { FrontendCode, StartupCode } from './message-codes';

export type StartupPacket =
  | { readonly kind: 'ssl-request' }
  | { readonly kind: 'gssenc-request' }
  | { readonly kind: 'cancel-request'; readonly processId: number; readonly secretKey: number }
  | { readonly kind: 'startup'; readonly parameters: ReadonlyMap<string, string> };

export interface FrontendMessage {
  readonly code: number;
  /** The whole frame, type byte and length included: relayed as is when nothing changes. */
  readonly frame: Buffer;
}

const MIN_STARTUP_LENGTH = 8;

export class FrontendDecoder {
  private buffer: Buffer = Buffer.alloc(0);
  private startupPhase = true;

  constructor(private readonly maxMessageBytes: number) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** After the StartupMessage every message carries a type byte. */
  endStartupPhase(): void {
    this.startupPhase = false;
  }

  nextStartupPacket(): StartupPacket | undefined {
    if (this.buffer.length < 4) return undefined;
    const length = this.buffer.readUInt32BE(0);
    if (length < MIN_STARTUP_LENGTH || length > Math.min(this.maxMessageBytes, 10_000)) {
      throw protocolViolation(`invalid startup packet length ${length}`);
    }
    if (this.buffer.length < length) return undefined;
    const packet = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    return decodeStartupPacket(packet);
  }

  next(): FrontendMessage | undefined {
    if (this.startupPhase) throw new Error('typed message requested during the startup phase');
    if (this.buffer.length < 5) return undefined;
    const length = this.buffer.readUInt32BE(1);
    if (length < 4) throw protocolViolation(`invalid message length ${length}`);
    if (length + 1 > this.maxMessageBytes) {
      throw protocolViolation(`message of ${length + 1} bytes exceeds the limit of ${this.maxMessageBytes} bytes`);
    }
    if (this.buffer.length < length + 1) return undefined;
    const frame = this.buffer.subarray(0, length + 1);
    this.buffer = this.buffer.subarray(length + 1);
    return { code: frame[0]!, frame };
  }
}

function decodeStartupPacket(packet: Buffer): StartupPacket {
  const code = packet.readUInt32BE(4);
  switch (code) {
    case StartupCode.SSLRequest:
      return { kind: 'ssl-request' };
    case StartupCode.GSSENCRequest:
      return { kind: 'gssenc-request' };
    case StartupCode.CancelRequest:
      if (packet.length !== 16) throw protocolViolation('invalid cancel request length');
      return { kind: 'cancel-request', processId: packet.readInt32BE(8), secretKey: packet.readInt32BE(12) };
    case StartupCode.ProtocolV3:
      return { kind: 'startup', parameters: decodeStartupParameters(packet) };
    default:
      throw new PgError(
        '0A000',
        `unsupported frontend protocol ${code >>> 16}.${code & 0xffff}: server supports 3.0`,
        'FATAL',
      );
  }
}

function decodeStartupParameters(packet: Buffer): Map<string, string> {
  const parameters = new Map<string, string>();
  const reader = new CStringReader(packet, 8);
  for (;;) {
    const name = reader.cstring();
    if (name === '') break;
    parameters.set(name, reader.cstring());
  }
  if (reader.offset !== packet.length) throw protocolViolation('invalid startup packet layout');
  return parameters;
}

/** Reads NUL-terminated strings and integers out of a frame; every overrun is a protocol violation. */
export class CStringReader {
  constructor(
    private readonly data: Buffer,
    public offset: number,
  ) {}

  cstring(): string {
    const end = this.data.indexOf(0, this.offset);
    if (end < 0) throw protocolViolation('invalid message format: unterminated string');
    const value = this.data.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }

  int16(): number {
    this.need(2);
    const v = this.data.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.data.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.data.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  get remaining(): number {
    return this.data.length - this.offset;
  }

  private need(n: number): void {
    if (n < 0 || this.offset + n > this.data.length) throw protocolViolation('invalid message format: truncated');
  }
}

/** The decoded parts of the messages the session has to understand. */
export function readQuery(m: FrontendMessage): string {
  const r = new CStringReader(m.frame, 5);
  const sql = r.cstring();
  if (r.remaining !== 0) throw protocolViolation('invalid Query message');
  return sql;
}

export interface ParseMessage {
  readonly name: string;
  readonly sql: string;
  /** Parameter type oids, relayed unchanged. */
  readonly parameterTypes: Buffer;
}

export function readParse(m: FrontendMessage): ParseMessage {
  const r = new CStringReader(m.frame, 5);
  const name = r.cstring();
  const sql = r.cstring();
  const count = r.int16();
  if (count < 0) throw protocolViolation('invalid Parse message');
  const parameterTypes = r.bytes(count * 4);
  if (r.remaining !== 0) throw protocolViolation('invalid Parse message');
  return { name, sql, parameterTypes: Buffer.concat([Buffer.from([count >> 8, count & 0xff]), parameterTypes]) };
}

/** Bind: only the portal and statement names matter to the proxy; the rest is relayed as is. */
export function readBindNames(m: FrontendMessage): { portal: string; statement: string } {
  const r = new CStringReader(m.frame, 5);
  return { portal: r.cstring(), statement: r.cstring() };
}

export function readExecutePortal(m: FrontendMessage): string {
  return new CStringReader(m.frame, 5).cstring();
}

/** Close and Describe: 'S' (prepared statement) or 'P' (portal), then the name. */
export function readTarget(m: FrontendMessage): { kind: 'statement' | 'portal'; name: string } {
  const r = new CStringReader(m.frame, 6);
  return { kind: m.frame[5] === 0x53 ? 'statement' : 'portal', name: r.cstring() };
}

export function readPassword(m: FrontendMessage): Buffer {
  return m.frame.subarray(5);
}

/** Types the session accepts after startup; anything else is refused as a protocol violation. */
export const ACCEPTED_FRONTEND_CODES: ReadonlySet<number> = new Set([
  FrontendCode.Query,
  FrontendCode.Parse,
  FrontendCode.Bind,
  FrontendCode.Describe,
  FrontendCode.Execute,
  FrontendCode.Close,
  FrontendCode.Sync,
  FrontendCode.Flush,
  FrontendCode.Terminate,
  FrontendCode.CopyData,
  FrontendCode.CopyDone,
  FrontendCode.CopyFail,
]);
