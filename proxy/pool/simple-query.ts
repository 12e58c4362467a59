/**
 * One simple Query of pgveil's own on an idle pooled connection, outside any client's pipeline:
 * applying a client's startup settings (whose ParameterStatus answers make its greeting) and
 * reading back the settings a client changed. Text rows, reported parameters and the first error.
 */
import type { Socket } from 'node:net';
import { BackendCode } from '../protocol/message-codes';
import * as write from '../protocol/message-writer';
import { decodeFields } from '../pg-error';
import { BackendFrameReader } from '../upstream/backend-frame-reader';
import { readDataRow } from '../protocol/data-row';

export interface SimpleQueryAnswer {
  readonly rows: ReadonlyArray<ReadonlyArray<string | null>>;
  /** ParameterStatus messages in the order upstream sent them. */
  readonly statuses: ReadonlyArray<readonly [string, string]>;
  readonly error?: { readonly sqlstate: string; readonly message: string };
}

export function runSimpleQuery(socket: Socket, sql: string, timeoutMs: number): Promise<SimpleQueryAnswer> {
  return new Promise((resolve, reject) => {
    const reader = new BackendFrameReader();
    const rows: Array<Array<string | null>> = [];
    const statuses: Array<[string, string]> = [];
    let error: SimpleQueryAnswer['error'];
    const done = (outcome: Error | undefined): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (outcome) reject(outcome);
      else resolve({ rows, statuses, ...(error ? { error } : {}) });
    };
    const onData = (chunk: Buffer): void => {
      reader.push(chunk);
      try {
        for (let f = reader.next(); f; f = reader.next()) {
          const code = f[0];
          if (code === BackendCode.DataRow)
            rows.push(readDataRow(f).map((v) => (v === null ? null : v.toString('utf8'))));
          else if (code === BackendCode.ParameterStatus) {
            const [name = '', value = ''] = f.toString('utf8', 5, f.length - 1).split('\0');
            statuses.push([name, value]);
          } else if (code === BackendCode.ErrorResponse && !error) {
            const fields = decodeFields(f);
            error = { sqlstate: fields.get('C') ?? 'XX000', message: fields.get('M') ?? '' };
          } else if (code === BackendCode.ReadyForQuery) {
            if (reader.rest().length > 0) return done(new Error('upstream sent more than one answer'));
            return done(undefined);
          }
        }
      } catch (e) {
        done(e instanceof Error ? e : new Error('invalid upstream message'));
      }
    };
    const onClose = (): void => done(new Error('upstream connection closed'));
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(write.query(sql));
  });
}
