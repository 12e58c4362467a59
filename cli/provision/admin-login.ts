/**
 * How `pgveil provision` reaches each upstream as an administrator: the service account cannot grant
 * itself anything, so provisioning connects to the data product's host, port and database (and TLS
 * settings) from the policy files, as another user:
 *
 *   user      --admin-user NAME, else $PGUSER, else "postgres"
 *   password  --admin-password-file FILE, else $PGPASSWORD, else none (trust, peer over TCP, or a
 *             server that asks for none)
 *
 * The password is never printed, not even by --dry-run.
 */
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import type { DataProductConfig } from '../../policies';
import { serviceAccountClient, upstreamTargetOf } from '../runtime/upstream-target-of';

export interface AdminLogin {
  readonly user: string;
  readonly password?: string;
}

export function adminLoginFrom(
  options: { adminUser?: string; adminPasswordFile?: string },
  env: NodeJS.ProcessEnv = process.env,
): AdminLogin {
  const user = options.adminUser ?? env.PGUSER ?? 'postgres';
  if (options.adminPasswordFile) {
    let password: string;
    try {
      password = readFileSync(options.adminPasswordFile, 'utf8').trim();
    } catch (error) {
      throw new Error(
        `cannot read the admin password file "${options.adminPasswordFile}": ${(error as Error).message}`,
        { cause: error },
      );
    }
    return { user, password };
  }
  return env.PGPASSWORD !== undefined ? { user, password: env.PGPASSWORD } : { user };
}

function sslOf(product: DataProductConfig): false | { rejectUnauthorized: boolean; ca?: string } {
  const ssl = product.upstream.ssl;
  return ssl && ssl.mode !== 'disable'
    ? { rejectUnauthorized: ssl.mode === 'verify-full', ...(ssl.ca ? { ca: ssl.ca } : {}) }
    : false;
}

/** `host:port/database`, how findings and plans name an upstream. */
export function upstreamName(product: DataProductConfig): string {
  return `${product.upstream.host}:${product.upstream.port}/${product.upstream.database}`;
}

export function adminClient(product: DataProductConfig, login: AdminLogin): Client {
  const u = product.upstream;
  return new Client({
    host: u.host,
    port: u.port,
    database: u.database,
    user: login.user,
    ...(login.password !== undefined ? { password: login.password } : {}),
    ssl: sslOf(product),
    connectionTimeoutMillis: 10_000,
    application_name: 'pgveil provision',
  });
}

/** A connection as the service account itself, with the password the policy files give it. */
export function serviceClient(product: DataProductConfig, applicationName: string): Client {
  return serviceAccountClient(upstreamTargetOf(product), applicationName);
}
