/**
 * Security events: refusals, authentication failures, protocol violations, reload failures, in one
 * JSON shape. A sink never blocks a statement: events queue in bounded memory and drops are counted.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

export interface SecurityEvent {
  readonly time: string;
  readonly kind: string;
  readonly severity: 'low' | 'medium' | 'high';
  readonly actor: { readonly user: string | null; readonly session: string; readonly client: string };
  readonly dataProduct: string | null;
  readonly message: string;
  readonly reasons: readonly string[];
}

export interface EventSink {
  emit(event: SecurityEvent): void;
  readonly dropped: number;
  close(): Promise<void>;
}

/** Writes JSON lines to a stream; beyond `maxQueued` unwritten bytes, events are dropped and counted. */
export function streamSink(stream: NodeJS.WritableStream, maxQueuedBytes = 4 * 1024 * 1024): EventSink {
  let dropped = 0;
  return {
    emit(event) {
      const writable = stream as Partial<WriteStream>;
      if ((writable.writableLength ?? 0) > maxQueuedBytes) {
        dropped++;
        return;
      }
      stream.write(`${JSON.stringify(event)}\n`);
    },
    get dropped() {
      return dropped;
    },
    close: () => new Promise<void>((resolve) => (stream === process.stdout ? resolve() : stream.end(() => resolve()))),
  };
}

export function fileSink(path: string): EventSink {
  mkdirSync(dirname(path), { recursive: true });
  return streamSink(createWriteStream(path, { flags: 'a' }));
}

export function fanOut(sinks: readonly EventSink[]): EventSink {
  return {
    emit: (event) => sinks.forEach((s) => s.emit(event)),
    get dropped() {
      return sinks.reduce((n, s) => n + s.dropped, 0);
    },
    close: async () => void (await Promise.all(sinks.map((s) => s.close()))),
  };
}
