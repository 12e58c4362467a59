/**
 * A file pgveil appends to in a directory the policy watcher watches wakes the watcher at every
 * write: the kernel reports each write to a watched directory, whatever the entry. For the audit
 * log that is one wake-up and two reads per statement, for nothing; put such files elsewhere.
 */
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/server-config';

export const fileSinks = (config: ServerConfig): string[] =>
  config.events.sinks.flatMap((s) => (s.type === 'file' ? [s.path] : []));

export function warnOfWatchedWrites(watched: ReadonlySet<string>, written: readonly string[], log: Logger): void {
  for (const file of written) {
    const directory = dirname(resolve(file));
    if (watched.has(directory))
      log.warn(
        { file, directory },
        'this file is written beside the policy files: every write to it wakes the policy watcher; give it a directory of its own',
      );
  }
}
