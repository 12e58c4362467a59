/**
 * The one error type that reaches a client: it carries a SQLSTATE and serializes itself as an
 * ErrorResponse. Messages are lowercase and quote the user's input.
 */
export type Severity = 'ERROR' | 'FATAL';

export class PgError extends Error {
  override readonly name = 'PgError';
  constructor(
    readonly sqlstate: string,
    message: string,
    readonly severity: Severity = 'ERROR',
    readonly detail?: string,
  ) {
    super(message);
  }

  /** ErrorResponse: 'E', length, then (field code, cstring) pairs and a final zero byte. */
  toErrorResponse(): Buffer {
    const fields: Array<[string, string]> = [
      ['S', this.severity],
      ['V', this.severity],
      ['C', this.sqlstate],
      ['M', this.message],
    ];
    if (this.detail) fields.push(['D', this.detail]);
    return encodeFields(0x45, fields);
  }
}

export const protocolViolation = (message: string): PgError => new PgError('08P01', message, 'FATAL');

export function encodeFields(code: number, fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts = fields.map(([k, v]) =>
    Buffer.concat([Buffer.from(k, 'ascii'), Buffer.from(v, 'utf8'), Buffer.from([0])]),
  );
  const body = Buffer.concat([...parts, Buffer.from([0])]);
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = code;
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** Reads the fields of an ErrorResponse/NoticeResponse frame (type byte and length included). */
export function decodeFields(frame: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let pos = 5;
  while (pos < frame.length && frame[pos] !== 0) {
    const key = String.fromCharCode(frame[pos]!);
    const end = frame.indexOf(0, pos + 1);
    if (end < 0) break;
    fields.set(key, frame.toString('utf8', pos + 1, end));
    pos = end + 1;
  }
  return fields;
}
