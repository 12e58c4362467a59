/**
 * Tests run against the machine's real PostgreSQL (127.0.0.1:5432, trust, user postgres). Each test
 * file creates its own database and drops it afterwards.
 */
import { Client, type ClientConfig } from 'pg';
import { randomBytes } from 'node:crypto';

export const PG_HOST = process.env.PGVEIL_TEST_PGHOST ?? '127.0.0.1';
export const PG_PORT = Number(process.env.PGVEIL_TEST_PGPORT ?? 5432);
export const PG_SUPERUSER = process.env.PGVEIL_TEST_PGUSER ?? 'postgres';

function adminConfig(database = 'postgres'): ClientConfig {
  return { host: PG_HOST, port: PG_PORT, user: PG_SUPERUSER, database };
}

export async function withAdmin<T>(fn: (client: Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const client = new Client(adminConfig(database));
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  readonly name: string;
  config(): ClientConfig;
  /** Runs SQL as the superuser inside the test database. */
  exec(sql: string): Promise<void>;
  drop(): Promise<void>;
}

/** Creates `pgveil_test_<prefix>_<random>`; call drop() in afterAll. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `pgveil_test_${prefix.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    config: () => adminConfig(name),
    exec: (sql) => withAdmin(async (c) => void (await c.query(sql)), name),
    drop: () =>
      withAdmin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}
