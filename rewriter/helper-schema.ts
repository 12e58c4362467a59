/**
 * pgveil's upstream helper schema. The keyed hash is an HMAC-SHA256 computed by a SECURITY DEFINER
 * function owned by a NOLOGIN role; the key lives in a table only that role can read. The rewrite
 * names the function; the key never appears in any SQL text, plan or log, and analysts cannot call
 * the function themselves (the guard refuses any reference to the schema).
 *
 * planHelperSchema() reads what is already there and returns only the statements that change
 * something, so installing twice changes nothing and an existing key is kept (hashes stay stable).
 * `pgveil provision` runs these steps; the rewriter's own tests install through installHelperSchema().
 */
import type { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { quoteIdent } from './quote-ident';

export interface HelperSchemaOptions {
  readonly schema: string;
  /** NOLOGIN role owning the schema, the key and the function; the service account must not be a member. */
  readonly ownerRole: string;
  readonly serviceRole: string;
  /** HMAC key (32 to 64 bytes) used only when the schema has no key yet; random when not given. */
  readonly key?: Buffer;
}

/** One statement of a provisioning plan. Secrets travel only in `params`, never in `sql`. */
export interface SqlStep {
  /** What the statement achieves, for people reading the plan. */
  readonly why: string;
  readonly sql: string;
  /** Printed instead of `sql` when `sql` itself must not be shown (it carries a password verifier). */
  readonly shown?: string;
  readonly params?: readonly unknown[];
  /** How `params` are shown when the plan is printed (placeholders, never the values). */
  readonly shownParams?: string;
  /** SQLSTATEs meaning someone else made the same change meanwhile (roles are cluster-wide). */
  readonly tolerate?: readonly string[];
}

export const HELPER_FUNCTION = 'keyed_hash';
const BLOCK = 64; // SHA-256 block size

/** HMAC pads are derived here so the SQL only concatenates and hashes (no bytea XOR upstream). */
function pads(key: Buffer): { inner: Buffer; outer: Buffer } {
  const padded = Buffer.alloc(BLOCK);
  key.copy(padded);
  return { inner: Buffer.from(padded.map((b) => b ^ 0x36)), outer: Buffer.from(padded.map((b) => b ^ 0x5c)) };
}

function functionBody(schema: string): string {
  return `
      SELECT pg_catalog.encode(pg_catalog.sha256(k.outer_pad OPERATOR(pg_catalog.||)
               pg_catalog.sha256(k.inner_pad OPERATOR(pg_catalog.||) pg_catalog.convert_to(value, 'UTF8'))), 'hex')
      FROM ${schema}.hash_key k
    `;
}

interface HelperState {
  readonly owner_exists: boolean;
  readonly schema_owner: string | null;
  readonly service_exists: boolean;
  readonly table_exists: boolean;
  readonly table_owner: string | null;
  readonly function_source: string | null;
  readonly function_definer: boolean | null;
  readonly function_config: string[] | null;
  readonly function_owner: string | null;
}

const STATE_SQL = `
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $2) AS owner_exists,
       (SELECT pg_catalog.pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace WHERE nspname = $1) AS schema_owner,
       EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $3) AS service_exists,
       pg_catalog.to_regclass(pg_catalog.quote_ident($1) || '.hash_key') IS NOT NULL AS table_exists,
       (SELECT pg_catalog.pg_get_userbyid(relowner) FROM pg_catalog.pg_class WHERE oid = pg_catalog.to_regclass(pg_catalog.quote_ident($1) || '.hash_key')) AS table_owner,
       p.prosrc AS function_source, p.prosecdef AS function_definer, p.proconfig AS function_config,
       pg_catalog.pg_get_userbyid(p.proowner) AS function_owner
FROM (SELECT pg_catalog.to_regprocedure(pg_catalog.quote_ident($1) || '.${HELPER_FUNCTION}(text)') AS oid) f
LEFT JOIN pg_catalog.pg_proc p ON p.oid = f.oid`;

/** The statements that bring the helper schema to the state the rewrite relies on. */
export async function planHelperSchema(client: Client, options: HelperSchemaOptions): Promise<SqlStep[]> {
  if (options.key && (options.key.length < 32 || options.key.length > BLOCK))
    throw new Error('the hash key must be 32 to 64 bytes');
  const schema = quoteIdent(options.schema);
  const owner = quoteIdent(options.ownerRole);
  const service = quoteIdent(options.serviceRole);
  const fn = `${schema}.${HELPER_FUNCTION}(text)`;
  const state = (await client.query<HelperState>(STATE_SQL, [options.schema, options.ownerRole, options.serviceRole]))
    .rows[0]!;
  // Privileges of a role that does not exist yet are those of PUBLIC, which every role inherits.
  const who = state.service_exists ? options.serviceRole : 'public';
  const has = async (sql: string, ...params: unknown[]): Promise<boolean> =>
    Boolean((await client.query<{ v: boolean }>(`SELECT ${sql} AS v`, params)).rows[0]?.v);
  const steps: SqlStep[] = [];

  if (!state.owner_exists) {
    steps.push({
      why: `create the NOLOGIN role "${options.ownerRole}" that owns the helper schema and its key`,
      sql: `CREATE ROLE ${owner} NOLOGIN NOINHERIT`,
      tolerate: ['42710', '23505'],
    });
  }
  if (state.schema_owner === null) {
    steps.push({
      why: `create the helper schema "${options.schema}"`,
      sql: `CREATE SCHEMA ${schema} AUTHORIZATION ${owner}`,
    });
  } else if (state.schema_owner !== options.ownerRole) {
    steps.push({
      why: `the helper schema is owned by "${state.schema_owner}": give it to "${options.ownerRole}"`,
      sql: `ALTER SCHEMA ${schema} OWNER TO ${owner}`,
    });
  }
  const schemaExists = state.schema_owner !== null;
  if (schemaExists && (await has(`pg_catalog.has_schema_privilege('public', $1, 'USAGE, CREATE')`, options.schema))) {
    steps.push({
      why: 'nobody but the owner and the service account may use the helper schema',
      sql: `REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC`,
    });
  }
  if (!schemaExists || !(await has(`pg_catalog.has_schema_privilege($1, $2, 'USAGE')`, who, options.schema))) {
    steps.push({
      why: 'the service account may call into the helper schema',
      sql: `GRANT USAGE ON SCHEMA ${schema} TO ${service}`,
    });
  }
  if (
    schemaExists &&
    state.service_exists &&
    (await has(`pg_catalog.has_schema_privilege($1, $2, 'CREATE')`, options.serviceRole, options.schema))
  ) {
    steps.push({
      why: 'the service account must not create objects in the helper schema',
      sql: `REVOKE CREATE ON SCHEMA ${schema} FROM ${service}`,
    });
  }

  if (!state.table_exists) {
    steps.push({
      why: 'the table holding the key (HMAC pads)',
      sql: `CREATE TABLE ${schema}.hash_key (inner_pad bytea NOT NULL, outer_pad bytea NOT NULL)`,
    });
  }
  if (state.table_owner !== options.ownerRole) {
    steps.push({
      why: `only "${options.ownerRole}" owns the key`,
      sql: `ALTER TABLE ${schema}.hash_key OWNER TO ${owner}`,
    });
  }
  if (
    state.table_exists &&
    (await has(
      `pg_catalog.has_table_privilege($1, $2, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')`,
      who,
      `${schema}.hash_key`,
    ))
  ) {
    steps.push({
      why: 'the service account (and PUBLIC) must not read or change the key',
      sql: `REVOKE ALL ON ${schema}.hash_key FROM PUBLIC, ${service}`,
    });
  }
  const keyRows = state.table_exists ? await keyRowCount(client, schema) : 0;
  if (keyRows > 1)
    throw new Error(
      `the helper schema's key table ${options.schema}.hash_key holds ${keyRows} rows: pgveil cannot tell which is the key; keep one and run again`,
    );
  if (keyRows === 0) {
    const key = options.key ?? randomBytes(32);
    const { inner, outer } = pads(key);
    steps.push({
      why: 'a new hash key (there is none yet); an existing key is never replaced, so hashes stay stable',
      sql: `INSERT INTO ${schema}.hash_key (inner_pad, outer_pad) VALUES ($1, $2)`,
      params: [inner, outer],
      shownParams: `$1, $2: the HMAC pads of a new random ${key.length}-byte key, sent as bind parameters and never printed`,
    });
  }

  const expectedConfig = ['search_path=pg_catalog'];
  if (
    state.function_source !== functionBody(schema) ||
    state.function_definer !== true ||
    JSON.stringify(state.function_config) !== JSON.stringify(expectedConfig)
  ) {
    steps.push({
      why: "the keyed hash: SECURITY DEFINER, so it reads the key with its owner's rights",
      sql: `CREATE OR REPLACE FUNCTION ${schema}.${HELPER_FUNCTION}(value text) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog
    AS $fn$${functionBody(schema)}$fn$`,
    });
  }
  if (state.function_owner !== options.ownerRole) {
    steps.push({ why: `the keyed hash runs as "${options.ownerRole}"`, sql: `ALTER FUNCTION ${fn} OWNER TO ${owner}` });
  }
  const functionExists = state.function_source !== null;
  if (!functionExists || (await has(`pg_catalog.has_function_privilege('public', $1, 'EXECUTE')`, fn))) {
    steps.push({
      why: 'only the service account may call the keyed hash (PUBLIC may call new functions)',
      sql: `REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`,
    });
  }
  if (!functionExists || !(await has(`pg_catalog.has_function_privilege($1, $2, 'EXECUTE')`, who, fn))) {
    steps.push({
      why: 'the service account calls the keyed hash for the rewrite',
      sql: `GRANT EXECUTE ON FUNCTION ${fn} TO ${service}`,
    });
  }
  return steps;
}

async function keyRowCount(client: Client, schema: string): Promise<number> {
  return Number(
    (await client.query<{ n: string }>(`SELECT pg_catalog.count(*) AS n FROM ${schema}.hash_key`)).rows[0]?.n ?? 0,
  );
}

/**
 * Runs steps in order inside the caller's transaction; a tolerated SQLSTATE (the same change made
 * concurrently) is skipped.
 */
export async function runSteps(client: Client, steps: readonly SqlStep[]): Promise<void> {
  for (const step of steps) {
    if (!step.tolerate) {
      await client.query(step.sql, step.params ? [...step.params] : undefined);
      continue;
    }
    // A savepoint keeps an enclosing transaction usable when the tolerated error happens.
    await client.query('SAVEPOINT pgveil_step');
    try {
      await client.query(step.sql, step.params ? [...step.params] : undefined);
      await client.query('RELEASE SAVEPOINT pgveil_step');
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT pgveil_step');
      if (!step.tolerate.includes((error as { code?: string }).code ?? '')) throw error;
    }
  }
}

/** Installs (or completes) the helper schema in one transaction. */
export async function installHelperSchema(client: Client, options: HelperSchemaOptions): Promise<void> {
  await client.query('BEGIN');
  try {
    await runSteps(client, await planHelperSchema(client, options));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}
