/**
 * A PostgreSQL server of a test's own, from the machine's Debian binaries, for faults that would
 * disturb every other test on the shared server: crashing a backend (the postmaster then ends every
 * session and recovers), or shutting the server down and starting it again. Trust authentication,
 * 127.0.0.1 only, removed by stop().
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export interface ThrowawayPostgres {
  readonly port: number;
  client(database?: string): Client;
  /** A fast shutdown: running sessions end with 57P01. */
  shutDown(): Promise<void>;
  /** Starts the server again on the same data. */
  start(): Promise<void>;
  /** Stops the server and removes its files. */
  remove(): Promise<void>;
}

function binDir(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return join('/usr/lib/postgresql', versions[0]!, 'bin');
}

export async function startThrowawayPostgres(port: number): Promise<ThrowawayPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-throwaway-'));
  const data = join(dir, 'data');
  const bin = binDir();
  // PostgreSQL refuses to run as root: as root, run its tools as the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chmodSync(dir, 0o777);
  // Asynchronous: the proxy under test runs in this same process and must keep serving meanwhile.
  const run = async (tool: string, args: string[]): Promise<void> => {
    if (asRoot) await promisify(execFile)('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]);
    else await promisify(execFile)(join(bin, tool), args);
  };
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`;
  const ctl = (...args: string[]): Promise<void> => run('pg_ctl', ['-D', data, '-w', '-l', join(dir, 'server.log'), ...args]);
  await run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync']);
  await ctl('-o', options, 'start');
  return {
    port,
    client: (database = 'postgres') => new Client({ host: '127.0.0.1', port, user: 'postgres', database }),
    shutDown: () => ctl('-m', 'fast', 'stop'),
    start: () => ctl('-o', options, 'start'),
    remove: async () => {
      try {
        await ctl('-m', 'immediate', 'stop');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
