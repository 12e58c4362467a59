/**
 * A throwaway PostgreSQL that accepts more connections than a default server's 100. pgveil holds
 * one upstream connection per analyst session, so measuring 200 concurrent or 1,000 idle sessions
 * needs an upstream that allows them; the machine's own server is left as it is. The service
 * account authenticates with SCRAM, as against a real data product.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { startThrowawayPostgres } from '../test/support/throwaway-postgres';

export interface WideUpstream {
  readonly port: number;
  /** A file holding the service account's password, for a policy's `passwordFile`. */
  readonly servicePasswordFile: string;
  admin(database: string): Client;
  stop(): Promise<void>;
}

export const SUPERUSER_PASSWORD = 'wide-upstream';
export const SERVICE_PASSWORD = 'wide-upstream-service';

export async function startWideUpstream(maxConnections: number, port: number): Promise<WideUpstream> {
  const server = await startThrowawayPostgres(port, { maxConnections, password: SUPERUSER_PASSWORD });
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-wide-'));
  const servicePasswordFile = join(dir, 'service.password');
  writeFileSync(servicePasswordFile, SERVICE_PASSWORD);
  return {
    port,
    servicePasswordFile,
    admin: (database) => server.client(database),
    stop: async () => {
      await server.remove();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
