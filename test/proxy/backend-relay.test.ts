/**
 * Backend framing: upstream's bytes may arrive split anywhere. Split at every byte boundary (and
 * at every pair of boundaries), the relay must give the client the same bytes and the pipeline the
 * same calls as when the stream arrives whole; a chunk with nothing to change leaves as itself.
 */
import { BackendRelay, BackendFramingError, type BackendFrameHandler } from '../../proxy/session/backend-relay';
import { BackendCode } from '../../proxy/protocol/message-codes';
import * as write from '../../proxy/protocol/message-writer';
import { encodeFields } from '../../proxy/pg-error';
import { backendFrames } from '../support/pipeline-script';

const INSPECTED = [
  BackendCode.ErrorResponse,
  BackendCode.CommandComplete,
  BackendCode.ReadyForQuery,
  BackendCode.ParameterStatus,
  BackendCode.RowDescription,
];
const REPLACED_ERROR = encodeFields(BackendCode.ErrorResponse, [
  ['C', '42501'],
  ['M', 'refused'],
]);

/** Relays the first `keep` DataRows, swaps every ErrorResponse, and logs what it was shown. */
class RecordingHandler implements BackendFrameHandler {
  readonly log: string[] = [];
  private rows = 0;
  constructor(private readonly keep: number) {}
  dataRow(): boolean {
    this.rows++;
    this.log.push(`row ${this.rows}`);
    return this.rows <= this.keep;
  }
  frame(code: number, frame: Buffer): Buffer {
    this.log.push(`${String.fromCharCode(code)} ${frame.toString('hex')}`);
    return code === BackendCode.ErrorResponse ? REPLACED_ERROR : frame;
  }
}

const dataRow = (value: string): Buffer => {
  const v = Buffer.from(value);
  const body = Buffer.alloc(6 + v.length);
  body.writeInt16BE(1, 0);
  body.writeInt32BE(v.length, 2);
  v.copy(body, 6);
  return write.frame(BackendCode.DataRow, body);
};

const stream = Buffer.concat([
  write.parameterStatus('application_name', 'psql'),
  backendFrames(['T'], ''),
  dataRow('alpha'),
  dataRow(''),
  write.frame(BackendCode.NoticeResponse, Buffer.from('SNOTICE\0Mhello\0\0')),
  dataRow('a longer value that spans several chunks when split'),
  dataRow('dropped one'),
  dataRow('dropped two'),
  backendFrames(['C SELECT 5', 'E 22012', 'Z I'], ''),
]);

function relayInChunks(chunks: readonly Buffer[], keep = 3): { out: Buffer; log: string[] } {
  const handler = new RecordingHandler(keep);
  const relay = new BackendRelay(handler, INSPECTED);
  const out: Buffer[] = [];
  for (const chunk of chunks) out.push(...relay.relay(chunk));
  return { out: Buffer.concat(out), log: handler.log };
}

const whole = relayInChunks([stream]);

test('whole, rows past the limit are dropped and the error is replaced', () => {
  expect(whole.log.filter((l) => l.startsWith('row'))).toEqual(['row 1', 'row 2', 'row 3', 'row 4', 'row 5']);
  expect(whole.out.includes(Buffer.from('dropped one'))).toBe(false);
  expect(whole.out.includes(Buffer.from('dropped two'))).toBe(false);
  expect(whole.out.includes(Buffer.from('a longer value'))).toBe(true);
  expect(whole.out.includes(REPLACED_ERROR)).toBe(true);
  expect(whole.out.length).toBe(
    stream.length -
      dataRow('dropped one').length -
      dataRow('dropped two').length -
      backendFrames(['E 22012'], '').length +
      REPLACED_ERROR.length,
  );
});

test('split at every byte boundary: the same bytes out, the same calls', () => {
  for (let i = 1; i < stream.length; i++) {
    const got = relayInChunks([stream.subarray(0, i), stream.subarray(i)]);
    expect({ i, log: got.log }).toEqual({ i, log: whole.log });
    expect({ i, same: got.out.equals(whole.out) }).toEqual({ i, same: true });
  }
});

test('split at every pair of byte boundaries: the same bytes out, the same calls', () => {
  for (let i = 1; i < stream.length; i++) {
    for (let j = i + 1; j < stream.length; j++) {
      const got = relayInChunks([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]);
      if (!got.out.equals(whole.out) || got.log.join() !== whole.log.join())
        throw new Error(`split at ${i} and ${j} differs`);
    }
  }
});

test('one byte at a time', () => {
  const got = relayInChunks([...stream].map((byte) => Buffer.from([byte])));
  expect(got.log).toEqual(whole.log);
  expect(got.out.equals(whole.out)).toBe(true);
});

test('a chunk with nothing to change goes out as the very buffer that came in', () => {
  const rows = Buffer.concat([dataRow('one'), dataRow('two'), backendFrames(['C SELECT 2', 'Z I'], '')]);
  const relay = new BackendRelay(new RecordingHandler(10), INSPECTED);
  const out = relay.relay(rows);
  expect(out).toHaveLength(1);
  expect(out[0]).toBe(rows);
});

test('a DataRow spanning chunks is relayed as its pieces arrive, not held back', () => {
  const big = dataRow('x'.repeat(100_000));
  const relay = new BackendRelay(new RecordingHandler(10), INSPECTED);
  const first = relay.relay(big.subarray(0, 65_536));
  expect(Buffer.concat(first).equals(big.subarray(0, 65_536))).toBe(true);
  const rest = relay.relay(big.subarray(65_536));
  expect(Buffer.concat(rest).equals(big.subarray(65_536))).toBe(true);
});

test('a frame length below 4 is not PostgreSQL: refused, not looped on', () => {
  const relay = new BackendRelay(new RecordingHandler(10), INSPECTED);
  expect(() => relay.relay(Buffer.from([BackendCode.DataRow, 0, 0, 0, 2, 0, 0]))).toThrow(BackendFramingError);
});
