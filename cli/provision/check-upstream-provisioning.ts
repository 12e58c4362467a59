/**
 * What `serve` checks on each data product's upstream at start and after every policy reload, as
 * the service account itself: the helper schema the keyed hash needs is there, usable and keyed,
 * and the account holds no right it should not (superuser, temporary tables, CREATE, memberships,
 * the key, functions the policy does not allow). Cheap: one connection and a few catalog lookups.
 * Never throws: an upstream it cannot reach is a finding too.
 */
import type { Client } from 'pg';
import type { DataProductConfig } from '../../policies';
import { quoteIdent } from '../../rewriter';
import { HELPER_FUNCTION } from '../../rewriter';
import { serviceClient, upstreamName } from './admin-login';
import { productSchemas } from './plan-service-account';
import { isAllowedFunction, upstreamFunctions } from './plan-function-grants';

export interface ProvisioningFinding {
  /** debug: nothing could be checked because the upstream is unreachable (the reachability warning says so already). */
  readonly level: 'error' | 'warn' | 'debug';
  readonly dataProduct: string;
  /** `host:port/database` */
  readonly upstream: string;
  /** What is missing or wrong, in a few words. */
  readonly problem: string;
  /** The command that fixes it. */
  readonly fix: string;
}

export interface CheckOptions {
  readonly helperSchema: string;
  /** Whether a policy hashes columns of this data product (a missing helper schema is then an error). */
  readonly hashes: boolean;
  /** `pgveil provision --config FILE --product NAME` */
  readonly fixCommand: string;
}

export async function checkUpstreamProvisioning(
  product: DataProductConfig,
  options: CheckOptions,
): Promise<ProvisioningFinding[]> {
  const findings: ProvisioningFinding[] = [];
  const add = (level: ProvisioningFinding['level'], problem: string): void => {
    findings.push({
      level,
      dataProduct: product.name,
      upstream: upstreamName(product),
      problem,
      fix: options.fixCommand,
    });
  };
  const client = serviceClient(product, 'pgveil provisioning check');
  try {
    await client.connect();
  } catch (error) {
    add(
      'debug',
      `provisioning not checked: the service account "${product.upstream.user}" cannot connect (${(error as Error).message})`,
    );
    await client.end().catch(() => undefined);
    return findings;
  }
  try {
    // Names in findings come out schema-qualified.
    await client.query('SET search_path = pg_catalog');
    await checkHelper(client, options, add);
    await checkAccount(client, product, options.helperSchema, add);
  } catch (error) {
    add('warn', `cannot check provisioning: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  return findings;
}

type Add = (level: ProvisioningFinding['level'], problem: string) => void;

async function checkHelper(client: Client, options: CheckOptions, add: Add): Promise<void> {
  const helperLevel = options.hashes ? 'error' : 'warn';
  const schema = options.helperSchema;
  const state = (
    await client.query<{ exists: boolean; usable: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1) AS exists,
            COALESCE((SELECT pg_catalog.has_schema_privilege(oid, 'USAGE') FROM pg_catalog.pg_namespace WHERE nspname = $1), false) AS usable`,
      [schema],
    )
  ).rows[0]!;
  if (!state.exists) {
    add(
      helperLevel,
      `the helper schema "${schema}" is missing: hashed columns fail with 'schema "${schema}" does not exist'`,
    );
    return;
  }
  if (!state.usable) {
    add(helperLevel, `the service account has no USAGE on the helper schema "${schema}"`);
    return;
  }
  try {
    const hash = (
      await client.query<{ h: string | null }>(
        `SELECT ${quoteIdent(schema)}.${HELPER_FUNCTION}('pgveil provisioning check') AS h`,
      )
    ).rows[0]?.h;
    if (hash === null || hash === undefined) add(helperLevel, `the helper schema "${schema}" has no hash key`);
  } catch (error) {
    add(
      helperLevel,
      `the service account cannot compute the keyed hash ${schema}.${HELPER_FUNCTION}(text): ${(error as Error).message}`,
    );
  }
  const keyReadable = (
    await client.query<{ v: boolean }>(
      `SELECT COALESCE(pg_catalog.has_table_privilege(pg_catalog.to_regclass(pg_catalog.quote_ident($1) || '.hash_key'), 'SELECT'), false) AS v`,
      [schema],
    )
  ).rows[0]?.v;
  if (keyReadable) add('warn', `the service account can read the hash key (${schema}.hash_key)`);
}

async function checkAccount(client: Client, product: DataProductConfig, helperSchema: string, add: Add): Promise<void> {
  const schemas = await productSchemas(client, helperSchema);
  const account = (
    await client.query<{
      superuser: boolean;
      temp: boolean;
      create: boolean;
      memberships: string[] | null;
      creatable: string[] | null;
    }>(
      `SELECT r.rolsuper AS superuser,
            pg_catalog.has_database_privilege(pg_catalog.current_database(), 'TEMPORARY') AS temp,
            pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE') AS create,
            (SELECT pg_catalog.array_agg(g.rolname::pg_catalog.text ORDER BY g.rolname) FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) AS memberships,
            (SELECT pg_catalog.array_agg(nspname::pg_catalog.text ORDER BY nspname) FROM pg_catalog.pg_namespace
              WHERE nspname = ANY ($1) AND pg_catalog.has_schema_privilege(oid, 'CREATE')) AS creatable
     FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
      [schemas],
    )
  ).rows[0];
  if (!account) return;
  if (account.superuser)
    add(
      'warn',
      `the service account "${product.upstream.user}" is a superuser: it can read and change everything, the key included`,
    );
  if (account.temp) add('warn', 'the service account may create temporary tables (TEMPORARY on the database)');
  if (account.create) add('warn', 'the service account may create schemas (CREATE on the database)');
  if (account.creatable?.length)
    add(
      'warn',
      `the service account may create objects in schema(s) ${account.creatable.map((s) => `"${s}"`).join(', ')}`,
    );
  if (account.memberships?.length)
    add('warn', `the service account is a member of ${account.memberships.map((r) => `"${r}"`).join(', ')}`);
  // Provisioning sets no default privileges (a new table waits until its columns are tagged).
  const unreadable = (
    await client.query<{ name: string }>(
      `SELECT c.oid::pg_catalog.regclass::pg_catalog.text AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY ($1) AND NOT pg_catalog.has_table_privilege(c.oid, 'SELECT') ORDER BY 1`,
      [schemas],
    )
  ).rows.map((r) => r.name);
  if (unreadable.length > 0) {
    add(
      'warn',
      `the service account cannot read ${unreadable.length} relation(s) of the data product, created since the last provisioning?: ${unreadable.slice(0, 5).join(', ')}${unreadable.length > 5 ? ', ...' : ''}`,
    );
  }
  const allowed = product.allowedFunctions ?? [];
  const open = (await upstreamFunctions(client, product.upstream.user, schemas)).filter(
    (f) => f.executable && !isAllowedFunction(allowed, f),
  );
  if (open.length > 0) {
    const named = open
      .slice(0, 5)
      .map((f) => f.signature)
      .join(', ');
    add(
      'warn',
      `the service account may execute ${open.length} function(s) the policy does not allow: ${named}${open.length > 5 ? ', ...' : ''}`,
    );
  }
}
