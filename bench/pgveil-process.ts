/**
 * A pgveil server as its own process, as in production, for the benches that measure its CPU and
 * RSS from /proc. Its output goes to a log file, read back when a run fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PgveilProcess {
  readonly pid: number;
  /** The last lines pgveil logged (warnings and errors), for a failure's report. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export function spawnPgveil(config: string, logFile: string): PgveilProcess {
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn('node', [join(__dirname, '..', 'cli', 'pgveil.js'), 'serve', '--config', config], {
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid!,
    logTail: (lines = 5) =>
      existsSync(logFile) ? readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '',
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
