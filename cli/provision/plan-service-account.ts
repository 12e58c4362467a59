/**
 * The service account's side of provisioning: a login role that can read the data product and do
 * nothing else. Reads what the upstream already grants and returns only the statements that change
 * something. Which schemas belong to the data product: every schema of its database that is not a
 * system schema (pg_catalog, information_schema, pg_toast, temporary schemas) nor pgveil's helper
 * schema — the same set the catalog loader resolves names in, so whatever an analyst can name is
 * covered. (The policy files do not list schemas: tags may come from column comments anywhere.)
 *
 * No ALTER DEFAULT PRIVILEGES: a table created later stays unreadable to pgveil until provisioning
 * runs again. That is the fail-closed choice — a new table would otherwise be served before anyone
 * has tagged its columns — and re-running `pgveil provision` is the moment to check the tags.
 */
import type { Client } from 'pg';
import { quoteIdent } from '../../rewriter';
import type { SqlStep } from '../../rewriter';
import { createScramVerifier, parseScramVerifier, passwordMatchesVerifier } from '../../proxy';

export interface ServicePassword {
  readonly value: string;
  /** Where it comes from, for the printed plan (`passwordFile /etc/...`), never the value. */
  readonly source: string;
}

export interface ServiceAccountTarget {
  readonly role: string;
  readonly database: string;
  readonly helperSchema: string;
  readonly password: ServicePassword | undefined;
  /** Logs in as the service account with its configured password; used when pg_authid is not readable. */
  readonly canLogIn: () => Promise<boolean>;
}

interface RoleRow {
  readonly rolsuper: boolean;
  readonly rolinherit: boolean;
  readonly rolcreaterole: boolean;
  readonly rolcreatedb: boolean;
  readonly rolcanlogin: boolean;
  readonly rolreplication: boolean;
  readonly rolbypassrls: boolean;
}

const ROLE_ATTRIBUTES = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS';

/** The data product's schemas, as described above (names, sorted). */
export async function productSchemas(client: Client, helperSchema: string): Promise<string[]> {
  const rows = await client.query<{ nspname: string }>(
    `SELECT nspname FROM pg_catalog.pg_namespace
     WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_' AND nspname <> $1 ORDER BY nspname`,
    [helperSchema],
  );
  return rows.rows.map((r) => r.nspname);
}

export async function planServiceAccount(client: Client, target: ServiceAccountTarget): Promise<SqlStep[]> {
  const role = quoteIdent(target.role);
  const database = quoteIdent(target.database);
  const steps: SqlStep[] = [];
  const existing = (
    await client.query<RoleRow>(
      'SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = $1',
      [target.role],
    )
  ).rows[0];
  if (!existing) {
    steps.push({ why: `create the service account "${target.role}"`, sql: `CREATE ROLE ${role} ${ROLE_ATTRIBUTES}` });
  } else if (
    existing.rolsuper ||
    existing.rolinherit ||
    existing.rolcreaterole ||
    existing.rolcreatedb ||
    !existing.rolcanlogin ||
    existing.rolreplication ||
    existing.rolbypassrls
  ) {
    steps.push({
      why: 'the service account may log in and do nothing else',
      sql: `ALTER ROLE ${role} ${ROLE_ATTRIBUTES}`,
    });
  }
  if (target.password && !(existing && (await passwordIsSet(client, target)))) {
    // A SCRAM verifier, not the password, travels to the server (as psql's \password does).
    const verifier = createScramVerifier(target.password.value);
    steps.push({
      why: `the service account's password (from ${target.password.source})`,
      sql: `ALTER ROLE ${role} PASSWORD '${verifier}'`,
      shown: `ALTER ROLE ${role} PASSWORD '<SCRAM-SHA-256 verifier of the password from ${target.password.source.replace(/'/g, "''")}>'`,
    });
  }
  if (existing) {
    const memberships = await client.query<{ rolname: string }>(
      `SELECT g.rolname FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
       WHERE m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) ORDER BY g.rolname`,
      [target.role],
    );
    for (const { rolname } of memberships.rows) {
      steps.push({
        why: `the service account was a member of "${rolname}": membership revoked (it must hold no rights but reading)`,
        sql: `REVOKE ${quoteIdent(rolname)} FROM ${role}`,
      });
    }
  }

  // Privileges of a role that does not exist yet are those of PUBLIC, which every role holds.
  const who = existing ? target.role : 'public';
  const db = (
    await client.query<{ connect: boolean; temp: boolean; create: boolean }>(
      `SELECT pg_catalog.has_database_privilege($1, pg_catalog.current_database(), 'CONNECT') AS connect,
            pg_catalog.has_database_privilege($1, pg_catalog.current_database(), 'TEMPORARY') AS temp,
            pg_catalog.has_database_privilege($1, pg_catalog.current_database(), 'CREATE') AS create`,
      [who],
    )
  ).rows[0]!;
  if (!existing || !db.connect)
    steps.push({
      why: 'the service account may connect to the data product',
      sql: `GRANT CONNECT ON DATABASE ${database} TO ${role}`,
    });
  if (db.temp)
    steps.push({
      why: 'no temporary tables: they would persist between analysts who share the account',
      sql: `REVOKE TEMPORARY ON DATABASE ${database} FROM PUBLIC, ${role}`,
    });
  if (db.create)
    steps.push({
      why: 'the service account must not create schemas',
      sql: `REVOKE CREATE ON DATABASE ${database} FROM PUBLIC, ${role}`,
    });

  const schemas = await productSchemas(client, target.helperSchema);
  const schemaRows = await client.query<{ nspname: string; usage: boolean; create: boolean }>(
    `SELECT nspname, pg_catalog.has_schema_privilege($1, oid, 'USAGE') AS usage, pg_catalog.has_schema_privilege($1, oid, 'CREATE') AS create
     FROM pg_catalog.pg_namespace WHERE nspname = ANY ($2) ORDER BY nspname`,
    [who, schemas],
  );
  for (const s of schemaRows.rows) {
    const name = quoteIdent(s.nspname);
    if (!existing || !s.usage)
      steps.push({
        why: `the service account may resolve names in schema "${s.nspname}"`,
        sql: `GRANT USAGE ON SCHEMA ${name} TO ${role}`,
      });
    if (s.create)
      steps.push({
        why: `nothing may be created in schema "${s.nspname}" through pgveil's account`,
        sql: `REVOKE CREATE ON SCHEMA ${name} FROM PUBLIC, ${role}`,
      });
  }

  const relations = await client.query<{ nspname: string; relname: string; readable: boolean; writable: boolean }>(
    `SELECT n.nspname, c.relname,
            pg_catalog.has_table_privilege($1, c.oid, 'SELECT') AS readable,
            pg_catalog.has_table_privilege($1, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') AS writable
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY ($2) ORDER BY n.nspname, c.relname`,
    [who, schemas],
  );
  const unreadable = relations.rows
    .filter((r) => !existing || !r.readable)
    .map((r) => `${quoteIdent(r.nspname)}.${quoteIdent(r.relname)}`);
  if (unreadable.length > 0)
    steps.push({
      why: 'the service account reads the data product (tables, views, materialized views)',
      sql: `GRANT SELECT ON TABLE ${unreadable.join(', ')} TO ${role}`,
    });
  const writable = relations.rows
    .filter((r) => r.writable)
    .map((r) => `${quoteIdent(r.nspname)}.${quoteIdent(r.relname)}`);
  if (writable.length > 0)
    steps.push({
      why: 'read-only: no write privilege for the service account',
      sql: `REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE ${writable.join(', ')} FROM PUBLIC, ${role}`,
    });
  steps.push(...(await sequenceSteps(client, who, role, schemas, existing !== undefined)));
  return steps;
}

/**
 * Sequences: SELECT reads a value (pg_dump's `SELECT last_value, is_called`), which pgveil lets
 * through only where it tells nothing a policy hides (docs/pg-dump.md); USAGE and UPDATE would let
 * nextval and setval change it.
 */
async function sequenceSteps(
  client: Client,
  who: string,
  role: string,
  schemas: readonly string[],
  existing: boolean,
): Promise<SqlStep[]> {
  const rows = await client.query<{ nspname: string; relname: string; readable: boolean; writable: boolean }>(
    `SELECT n.nspname, c.relname, pg_catalog.has_sequence_privilege($1, c.oid, 'SELECT') AS readable,
            pg_catalog.has_sequence_privilege($1, c.oid, 'USAGE, UPDATE') AS writable
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'S' AND n.nspname = ANY ($2) ORDER BY n.nspname, c.relname`,
    [who, schemas],
  );
  const name = (r: { nspname: string; relname: string }): string => `${quoteIdent(r.nspname)}.${quoteIdent(r.relname)}`;
  const steps: Array<{ why: string; sql: string }> = [];
  const unreadable = rows.rows.filter((r) => !existing || !r.readable).map(name);
  if (unreadable.length > 0)
    steps.push({
      why: 'the service account reads sequence values (pg_dump), which pgveil shows only where no policy hides what they count',
      sql: `GRANT SELECT ON SEQUENCE ${unreadable.join(', ')} TO ${role}`,
    });
  const writable = rows.rows.filter((r) => r.writable).map(name);
  if (writable.length > 0)
    steps.push({
      why: 'read-only: no nextval or setval for the service account',
      sql: `REVOKE USAGE, UPDATE ON SEQUENCE ${writable.join(', ')} FROM PUBLIC, ${role}`,
    });
  return steps;
}

/** Whether the role's password already is the configured one (no change, so a second run is silent). */
async function passwordIsSet(client: Client, target: ServiceAccountTarget): Promise<boolean> {
  let stored: string | null | undefined;
  try {
    stored = (
      await client.query<{ rolpassword: string | null }>(
        'SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = $1',
        [target.role],
      )
    ).rows[0]?.rolpassword;
  } catch (error) {
    if ((error as { code?: string }).code !== '42501') throw error;
    // Not a superuser: pg_authid is not readable; a successful login with the password says enough.
    return target.canLogIn();
  }
  const verifier = stored ? parseScramVerifier(stored) : undefined;
  return (
    verifier !== undefined &&
    target.password !== undefined &&
    (await passwordMatchesVerifier(verifier, target.password.value))
  );
}
