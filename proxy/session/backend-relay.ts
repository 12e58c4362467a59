/**
 * Upstream bytes on their way to the client, scanned in place. Only frame headers are read (type
 * byte and length); a frame pgveil need not look at is relayed as it arrives, even when it spans
 * chunks, so a chunk usually goes out as the very slice it came in. DataRows are counted, never
 * decoded; the few frames the pipeline must act on are handed over whole and may be replaced.
 */
import { BackendCode } from '../protocol/message-codes';
import type { ResultTransform } from '../../rewriter';

export interface BackendFrameHandler {
  /** A DataRow begins: true to relay it, false to drop it (past a row limit). */
  dataRow(): boolean;
  /** A whole inspected frame: what the client gets instead (the same buffer: unchanged). */
  frame(code: number, frame: Buffer): Buffer | undefined;
  /** The running statement's result transform (an external port's noise, ports/), if it has one. */
  rowTransform?(): ResultTransform | undefined;
}

/** Thrown for bytes that are not a PostgreSQL backend message stream. */
export class BackendFramingError extends Error {}

export class BackendRelay {
  private readonly inspected = new Uint8Array(256);
  /** Bytes of the current frame still to come, relayed as they arrive. */
  private passing = 0;
  /** Bytes of the current frame still to come, dropped. */
  private dropping = 0;
  /** An incomplete header, or an incomplete frame the handler must see whole. */
  private held: Buffer | undefined;

  constructor(
    private readonly handler: BackendFrameHandler,
    inspectedCodes: Iterable<number>,
  ) {
    for (const code of inspectedCodes) this.inspected[code] = 1;
  }

  /** What the client gets for this chunk, in order: slices of it and replacement frames. */
  relay(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let buf = chunk;
    if (this.held) {
      buf = Buffer.concat([this.held, chunk]);
      this.held = undefined;
    }
    const length = buf.length;
    let pos = 0;
    let runStart = 0;
    if (this.passing > 0) {
      pos = Math.min(this.passing, length);
      this.passing -= pos;
    } else if (this.dropping > 0) {
      pos = runStart = Math.min(this.dropping, length);
      this.dropping -= pos;
    }
    while (pos < length) {
      if (length - pos < 5) {
        this.hold(out, buf, runStart, pos);
        return out;
      }
      const code = buf[pos]!;
      const frameLength = buf.readUInt32BE(pos + 1);
      if (frameLength < 4)
        throw new BackendFramingError(`upstream sent a message of type ${code} with length ${frameLength}`);
      const end = pos + 1 + frameLength;
      // External output ports: a row whose values the plan replaces is taken whole, then transformed.
      const transform = code === BackendCode.DataRow ? this.handler.rowTransform?.() : undefined;
      if (transform) {
        if (end > length) {
          this.hold(out, buf, runStart, pos);
          return out;
        }
        if (pos > runStart) out.push(buf.subarray(runStart, pos));
        if (this.handler.dataRow()) out.push(transform.dataRow(buf.subarray(pos, end)));
        runStart = pos = end;
        continue;
      }
      if (code === BackendCode.DataRow || this.inspected[code] === 0) {
        const relayed = code !== BackendCode.DataRow || this.handler.dataRow();
        if (!relayed) {
          if (pos > runStart) out.push(buf.subarray(runStart, pos));
          runStart = Math.min(end, length);
        }
        if (end > length) {
          if (relayed) this.passing = end - length;
          else this.dropping = end - length;
          pos = length;
          break;
        }
        pos = end;
        continue;
      }
      if (end > length) {
        this.hold(out, buf, runStart, pos);
        return out;
      }
      const frame = buf.subarray(pos, end);
      const replacement = this.handler.frame(code, frame);
      if (replacement !== frame) {
        if (pos > runStart) out.push(buf.subarray(runStart, pos));
        if (replacement) out.push(replacement);
        runStart = end;
      }
      pos = end;
    }
    if (pos > runStart) out.push(runStart === 0 && pos === length ? buf : buf.subarray(runStart, pos));
    return out;
  }

  /** Relays the run so far and keeps the incomplete rest for the next chunk. */
  private hold(out: Buffer[], buf: Buffer, runStart: number, pos: number): void {
    if (pos > runStart) out.push(buf.subarray(runStart, pos));
    // A copy: the chunk's memory may be reused once this call returns.
    this.held = Buffer.from(buf.subarray(pos));
  }
}
