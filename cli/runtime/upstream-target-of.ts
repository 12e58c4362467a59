/** A declared data product's upstream as the proxy's connection target (password resolved now). */
import { Client } from 'pg';
import type { UpstreamTarget } from '../../proxy';
import { upstreamPassword } from '../../policies';
import type { DataProductConfig } from '../../policies';

export function upstreamTargetOf(product: DataProductConfig): UpstreamTarget {
  const u = product.upstream;
  return {
    host: u.host,
    port: u.port,
    database: u.database,
    user: u.user,
    password: upstreamPassword(product),
    ...(u.ssl ? { ssl: u.ssl } : {}),
    ...(u.pool?.mode === 'transaction'
      ? {
          pool: { size: u.pool.size ?? DEFAULT_POOL_SIZE, waitTimeoutMs: u.pool.waitTimeoutMs ?? DEFAULT_POOL_WAIT_MS },
        }
      : {}),
  };
}

/** A fifth of PostgreSQL's default max_connections, leaving room for other users of the server. */
const DEFAULT_POOL_SIZE = 20;
const DEFAULT_POOL_WAIT_MS = 30_000;

/**
 * A connection as the service account, for pgveil's own reads (catalog, probe, provisioning check,
 * discovery): the target's TLS settings, a bounded connect, and no crash when the server ends it.
 */
export function serviceAccountClient(
  target: UpstreamTarget,
  applicationName: string,
  timeoutMs = 5000,
  queryTimeoutMs?: number,
): Client {
  const client = new Client({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: target.password,
    ssl:
      target.ssl && target.ssl.mode !== 'disable'
        ? { rejectUnauthorized: target.ssl.mode === 'verify-full', ca: target.ssl.ca }
        : false,
    connectionTimeoutMillis: timeoutMs,
    ...(queryTimeoutMs !== undefined ? { query_timeout: queryTimeoutMs } : {}),
    application_name: applicationName,
  });
  // A server that ends the session (shutdown, database dropped) fails the pending query; an idle
  // client's 'error' event must not become an uncaught exception of the whole process.
  client.on('error', () => undefined);
  return client;
}
