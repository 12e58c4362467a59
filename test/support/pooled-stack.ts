/**
 * A pgveil stack whose data product is pooled in transaction mode, with a planted canary customer
 * and a superuser connection to the test database for looking at the service account's backends.
 */
import { Client } from 'pg';
import { startStack, type Stack, type StackOptions } from './pgveil-stack';
import { PG_HOST, PG_PORT } from './postgres';

export interface CanaryCustomer {
  readonly id: number;
  readonly name: string;
  readonly email: string;
  readonly ssn: string;
  readonly phone: string;
}

export interface PooledStack {
  readonly stack: Stack;
  readonly superuser: Client;
  /** The service account's connections to the test database (the pool's; the catalog reader's while it reads). */
  serviceConnections(): Promise<number>;
  stop(): Promise<void>;
}

/** The demo policy with its data product pooled. */
export function pooledPolicy(size: number, waitTimeoutMs: number): (demo: string) => string {
  return (demo) =>
    demo.replace(
      'passwordFile: service.password',
      `passwordFile: service.password\n      pool: { mode: transaction, size: ${size}, waitTimeoutMs: ${waitTimeoutMs} }`,
    );
}

export async function startPooledStack(
  prefix: string,
  pool: { readonly size: number; readonly waitTimeoutMs: number },
  canary: CanaryCustomer,
  options: StackOptions = {},
): Promise<PooledStack> {
  const stack = await startStack(prefix, {
    ...options,
    policyYaml: pooledPolicy(pool.size, pool.waitTimeoutMs),
    extraSql: `INSERT INTO public.customers (id, name, email, ssn, phone, birth_date, region, created_at)
               VALUES (${canary.id}, '${canary.name}', '${canary.email}', '${canary.ssn}', '${canary.phone}', '1980-05-17', 'EU', now());
               ${options.extraSql ?? ''}`,
  });
  const superuser = new Client({ host: PG_HOST, port: PG_PORT, user: 'postgres', database: stack.db.name });
  await superuser.connect();
  return {
    stack,
    superuser,
    async serviceConnections() {
      const { rows } = await superuser.query(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND usename = $2',
        [stack.db.name, stack.serviceRole],
      );
      return rows[0].n as number;
    },
    async stop() {
      await superuser.end();
      await stack.stop();
    },
  };
}
