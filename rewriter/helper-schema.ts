/**
 * pgveil's upstream helper schema. The keyed hash is an HMAC-SHA256 computed by a SECURITY DEFINER
 * function owned by a NOLOGIN role; the key lives in a table only that role can read. The rewrite
 * names the function; the key never appears in any SQL text, plan or log, and analysts cannot call
 * the function themselves (the guard refuses any reference to the schema).
 */
import type { Client } from 'pg';
import { quoteIdent } from './quote-ident';

export interface HelperSchemaOptions {
  readonly schema: string;
  /** NOLOGIN role owning the schema, the key and the function; the service account must not be a member. */
  readonly ownerRole: string;
  readonly serviceRole: string;
  /** HMAC key, at least 32 bytes. */
  readonly key: Buffer;
}

const BLOCK = 64; // SHA-256 block size

/** HMAC pads are derived here so the SQL only concatenates and hashes (no bytea XOR upstream). */
function pads(key: Buffer): { inner: Buffer; outer: Buffer } {
  const padded = Buffer.alloc(BLOCK);
  key.copy(padded);
  return { inner: Buffer.from(padded.map((b) => b ^ 0x36)), outer: Buffer.from(padded.map((b) => b ^ 0x5c)) };
}

export async function installHelperSchema(client: Client, options: HelperSchemaOptions): Promise<void> {
  if (options.key.length < 32 || options.key.length > BLOCK) throw new Error('the hash key must be 32 to 64 bytes');
  const schema = quoteIdent(options.schema);
  const owner = quoteIdent(options.ownerRole);
  const service = quoteIdent(options.serviceRole);
  const exists = await client.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [options.ownerRole]);
  if (exists.rowCount === 0) {
    // Roles are cluster-wide: another installer may create it at the same moment.
    await client.query(`CREATE ROLE ${owner} NOLOGIN NOINHERIT`).catch((error: { code?: string }) => {
      if (error.code !== '42710') throw error;
    });
  }
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION ${owner}`);
  await client.query(`REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.hash_key (inner_pad bytea NOT NULL, outer_pad bytea NOT NULL)`);
  await client.query(`ALTER TABLE ${schema}.hash_key OWNER TO ${owner}`);
  await client.query(`REVOKE ALL ON ${schema}.hash_key FROM PUBLIC`);
  const { inner, outer } = pads(options.key);
  await client.query(`DELETE FROM ${schema}.hash_key`);
  await client.query(`INSERT INTO ${schema}.hash_key (inner_pad, outer_pad) VALUES ($1, $2)`, [inner, outer]);
  await client.query(`
    CREATE OR REPLACE FUNCTION ${schema}.keyed_hash(value text) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog
    AS $fn$
      SELECT pg_catalog.encode(pg_catalog.sha256(k.outer_pad OPERATOR(pg_catalog.||)
               pg_catalog.sha256(k.inner_pad OPERATOR(pg_catalog.||) pg_catalog.convert_to(value, 'UTF8'))), 'hex')
      FROM ${schema}.hash_key k
    $fn$`);
  await client.query(`ALTER FUNCTION ${schema}.keyed_hash(text) OWNER TO ${owner}`);
  await client.query(`REVOKE ALL ON FUNCTION ${schema}.keyed_hash(text) FROM PUBLIC`);
  await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${service}`);
  await client.query(`GRANT EXECUTE ON FUNCTION ${schema}.keyed_hash(text) TO ${service}`);
}
