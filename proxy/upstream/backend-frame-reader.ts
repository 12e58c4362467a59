/** Splits a backend byte stream into whole frames (startup and pgveil's own short exchanges). */
export class BackendFrameReader {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
  }

  next(): Buffer | undefined {
    if (this.buffer.length < 5) return undefined;
    const end = 1 + this.buffer.readUInt32BE(1);
    if (this.buffer.length < end) return undefined;
    const f = this.buffer.subarray(0, end);
    this.buffer = this.buffer.subarray(end);
    return f;
  }

  rest(): Buffer {
    return this.buffer;
  }
}
