/**
 * Extended-protocol exchanges told as PostgreSQL answers them, to compare pgveil's answers with the
 * database's own: each backend frame becomes a short token (its type letter, an error's SQLSTATE,
 * a CommandComplete's tag, a DataRow's values), so two runs of the same frames compare with toEqual.
 */
import { serialize } from 'pg-protocol';
import { RawClient, type BackendFrame } from './raw-client';
import { decodeFields } from '../../proxy/pg-error';
import { PG_PORT, PG_SUPERUSER } from './postgres';

/** A session on the machine's PostgreSQL itself (trust authentication), as the superuser. */
export async function directSession(database: string): Promise<RawClient> {
  const c = await RawClient.open(PG_PORT);
  c.send(serialize.startup({ user: PG_SUPERUSER, database }));
  await c.until('Z');
  return c;
}

/** Frames that say nothing about the protocol's behaviour (settings, notices) are left out. */
const UNINTERESTING = new Set(['S', 'N']);

function token(frame: BackendFrame): string {
  switch (frame.code) {
    case 'E':
      return `E:${decodeFields(Buffer.concat([Buffer.from('E\0\0\0\0'), frame.body])).get('C') ?? '?'}`;
    case 'C':
      return `C:${frame.body.toString('utf8', 0, frame.body.length - 1)}`;
    case 'D':
      return `D:${JSON.stringify(dataRow(frame.body))}`;
    case 'Z':
      return `Z:${String.fromCharCode(frame.body[0]!)}`;
    default:
      return frame.code;
  }
}

/** Sends the frames and returns the tokens of every answer up to the ReadyForQuery of each Sync or Query. */
export async function exchange(client: RawClient, frames: readonly Buffer[]): Promise<string[]> {
  const ready = frames.filter((f) => f[0] === 0x53 || f[0] === 0x51).length;
  client.send(Buffer.concat(frames));
  const tokens: string[] = [];
  for (let seen = 0; seen < ready;) {
    const frame = await client.next();
    if (!frame) throw new Error(`connection closed after ${tokens.join(' ')}`);
    if (UNINTERESTING.has(frame.code)) continue;
    tokens.push(token(frame));
    if (frame.code === 'Z') seen++;
  }
  return tokens;
}

function dataRow(body: Buffer): Array<string | null> {
  const values: Array<string | null> = [];
  let pos = 2;
  for (let i = 0; i < body.readUInt16BE(0); i++) {
    const length = body.readInt32BE(pos);
    pos += 4;
    values.push(length < 0 ? null : body.toString('utf8', pos, pos + length));
    if (length > 0) pos += length;
  }
  return values;
}

/** The frames, as node-postgres's own codec writes them. */
export const frames = {
  parse: (name: string, text: string): Buffer => serialize.parse({ name, text, types: [] }),
  bind: (statement: string, values: unknown[] = [], portal = ''): Buffer =>
    serialize.bind({ portal, statement, values: values as string[] }),
  execute: (portal = ''): Buffer => serialize.execute({ portal, rows: 0 }),
  describeStatement: (name: string): Buffer => serialize.describe({ type: 'S', name }),
  closeStatement: (name: string): Buffer => serialize.close({ type: 'S', name }),
  sync: (): Buffer => serialize.sync(),
  query: (text: string): Buffer => serialize.query(text),
};
