/**
 * The session relays an external port's rows through the plan's result transform: each DataRow is
 * taken whole however upstream's bytes are split, counted once against the row limit, and replaced;
 * frames around it pass unchanged. Split at every byte boundary, the client gets exactly the bytes
 * it gets when the stream arrives whole.
 */
import { BackendRelay, type BackendFrameHandler } from '../../proxy/session/backend-relay';
import { BackendCode } from '../../proxy/protocol/message-codes';
import * as write from '../../proxy/protocol/message-writer';
import { readDataRow, writeDataRow } from '../../proxy/protocol/data-row';
import type { ResultTransform } from '../../rewriter/rewrite-types';

/** Upper-cases every value: a stand-in for the noise that shows which bytes went through it. */
const upper: ResultTransform = {
  dataRow: (frame) => writeDataRow(readDataRow(frame).map((v) => (v ? Buffer.from(v.toString().toUpperCase()) : null))),
};

class Handler implements BackendFrameHandler {
  rows = 0;
  constructor(private readonly keep: number) {}
  dataRow(): boolean {
    return ++this.rows <= this.keep;
  }
  frame(_code: number, frame: Buffer): Buffer {
    return frame;
  }
  rowTransform(): ResultTransform {
    return upper;
  }
}

const row = (...values: Array<string | null>): Buffer =>
  writeDataRow(values.map((v) => (v === null ? null : Buffer.from(v))));
const stream = Buffer.concat([
  write.frame(BackendCode.RowDescription, Buffer.alloc(2)),
  row('eu', '0:333'),
  row('us', null),
  row('apac', 'x'.repeat(300)),
  write.frame(BackendCode.CommandComplete, Buffer.from('SELECT 3\0')),
]);

function relayed(chunks: readonly Buffer[], keep: number): { out: Buffer; rows: number } {
  const handler = new Handler(keep);
  const relay = new BackendRelay(handler, [BackendCode.CommandComplete]);
  return { out: Buffer.concat(chunks.flatMap((c) => relay.relay(c))), rows: handler.rows };
}

test('rows are transformed whole and counted once, wherever the stream is split', () => {
  const whole = relayed([stream], 10);
  expect(whole.rows).toBe(3);
  expect(whole.out).toEqual(
    Buffer.concat([
      write.frame(BackendCode.RowDescription, Buffer.alloc(2)),
      row('EU', '0:333'),
      row('US', null),
      row('APAC', 'X'.repeat(300)),
      write.frame(BackendCode.CommandComplete, Buffer.from('SELECT 3\0')),
    ]),
  );
  for (let cut = 1; cut < stream.length; cut++) {
    const split = relayed([stream.subarray(0, cut), stream.subarray(cut)], 10);
    expect(split.rows).toBe(3);
    expect(split.out).toEqual(whole.out);
  }
});

test('a row past the row limit is dropped, not transformed', () => {
  const limited = relayed([stream], 1);
  expect(limited.out).toEqual(
    Buffer.concat([
      write.frame(BackendCode.RowDescription, Buffer.alloc(2)),
      row('EU', '0:333'),
      write.frame(BackendCode.CommandComplete, Buffer.from('SELECT 3\0')),
    ]),
  );
});
