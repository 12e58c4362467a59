/**
 * DataRow frames ('D', length, column count, then each value's length (-1: NULL) and bytes): the
 * pool reads its own queries' rows, external ports (ports/) rewrite values.
 */
export function readDataRow(frame: Buffer): (Buffer | null)[] {
  const count = frame.readUInt16BE(5);
  const values: (Buffer | null)[] = [];
  let at = 7;
  for (let i = 0; i < count; i++) {
    const length = frame.readInt32BE(at);
    at += 4;
    if (length < 0) values.push(null);
    else {
      values.push(frame.subarray(at, at + length));
      at += length;
    }
  }
  return values;
}

export function writeDataRow(values: readonly (Buffer | null)[]): Buffer {
  const size = 4 + 2 + values.reduce((n, v) => n + 4 + (v ? v.length : 0), 0);
  const frame = Buffer.alloc(1 + size);
  frame[0] = 0x44;
  frame.writeUInt32BE(size, 1);
  frame.writeUInt16BE(values.length, 5);
  let at = 7;
  for (const v of values) {
    frame.writeInt32BE(v ? v.length : -1, at);
    at += 4;
    if (v) {
      v.copy(frame, at);
      at += v.length;
    }
  }
  return frame;
}
