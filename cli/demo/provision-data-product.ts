/**
 * Sets up a data product the way pgveil expects to find one: the data, a service account that may
 * only read it (no superuser, no CREATE, no TEMP), and nothing else. Used by the demo and the tests.
 */
import type { Client } from 'pg';
import { demoSchemaSql } from './demo-data';
import { quoteIdent } from '../../rewriter/quote-ident';

export interface ServiceAccount {
  readonly role: string;
  readonly password: string;
}

/** Creates the service role if missing (roles are cluster-wide) and lets it read `schema` of `database`. */
export async function provisionServiceAccount(admin: Client, database: string, account: ServiceAccount, schemas: readonly string[] = ['public']): Promise<void> {
  const role = quoteIdent(account.role);
  const exists = await admin.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [account.role]);
  if (exists.rowCount === 0) {
    await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT`);
  }
  // The password travels as a literal once, at provisioning; format it server-side to quote safely.
  const setPassword = await admin.query<{ sql: string }>(`SELECT pg_catalog.format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text) AS sql`, [account.role, account.password]);
  await admin.query(setPassword.rows[0]!.sql);
  await admin.query(`REVOKE ALL ON DATABASE ${quoteIdent(database)} FROM PUBLIC`);
  await admin.query(`GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${role}`);
  for (const schema of schemas) {
    const s = quoteIdent(schema);
    await admin.query(`REVOKE CREATE ON SCHEMA ${s} FROM PUBLIC`);
    await admin.query(`GRANT USAGE ON SCHEMA ${s} TO ${role}`);
    await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${role}`);
  }
}

export async function loadDemoData(admin: Client): Promise<void> {
  await admin.query(demoSchemaSql);
}

