/**
 * Sets up one data product's upstream the way pgveil expects to find it, idempotently: reads what
 * is there, plans only the statements that change something (service account, helper schema and
 * key, function privileges), and runs them in one transaction — or, for a dry run, only returns them.
 * `pgveil provision`, the demo, the benchmarks and the test stack all come through here.
 */
import type { Client } from 'pg';
import type { DataProductConfig } from '../../policies';
import { upstreamPassword } from '../../policies';
import { planHelperSchema, runSteps, type SqlStep } from '../../rewriter';
import { adminClient, serviceClient, upstreamName, type AdminLogin } from './admin-login';
import { planServiceAccount, productSchemas, type ServicePassword } from './plan-service-account';
import { planFunctionGrants } from './plan-function-grants';

export interface ProvisionOptions {
  /** The helper schema's name (`helperSchema` in pgveil.yaml). */
  readonly helperSchema: string;
  readonly admin: AdminLogin;
  readonly dryRun?: boolean;
  /** The hash key to install when there is none yet (benchmarks fix it); random otherwise. */
  readonly key?: Buffer;
}

export interface ProvisionResult {
  readonly product: string;
  /** `host:port/database` */
  readonly upstream: string;
  readonly serviceRole: string;
  readonly steps: readonly SqlStep[];
  /** What provisioning cannot fix by itself and a person should look at. */
  readonly warnings: readonly string[];
  /** Whether the steps ran (false for a dry run and when there was nothing to do). */
  readonly applied: boolean;
}

/** The helper schema's owner: a NOLOGIN role named after the schema. */
const helperOwnerRole = (helperSchema: string): string => `${helperSchema}_owner`;

function passwordOf(product: DataProductConfig): ServicePassword | undefined {
  const value = upstreamPassword(product);
  if (value === undefined || value === '') return undefined;
  const u = product.upstream;
  const source = u.passwordFile
    ? `passwordFile ${u.passwordFile}`
    : u.passwordEnv
      ? `environment variable ${u.passwordEnv}`
      : 'the policy file';
  return { value, source };
}

export async function provisionDataProduct(
  product: DataProductConfig,
  options: ProvisionOptions,
): Promise<ProvisionResult> {
  const admin = adminClient(product, options.admin);
  await admin.connect();
  try {
    return await provisionWith(admin, product, options);
  } finally {
    await admin.end();
  }
}

async function provisionWith(
  admin: Client,
  product: DataProductConfig,
  options: ProvisionOptions,
): Promise<ProvisionResult> {
  const role = product.upstream.user;
  // Signatures and type names below are printed fully qualified.
  await admin.query('SET search_path = pg_catalog');
  const roleExists = (await admin.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [role])).rowCount === 1;
  const schemas = await productSchemas(admin, options.helperSchema);
  const service = await planServiceAccount(admin, {
    role,
    database: product.upstream.database,
    helperSchema: options.helperSchema,
    password: passwordOf(product),
    canLogIn: () => canLogIn(product),
  });
  const helper = await planHelperSchema(admin, {
    schema: options.helperSchema,
    ownerRole: helperOwnerRole(options.helperSchema),
    serviceRole: role,
    ...(options.key ? { key: options.key } : {}),
  });
  const functions = await planFunctionGrants(admin, role, roleExists, schemas, product.allowedFunctions ?? []);
  const steps = [...service, ...helper, ...functions.steps];
  const warnings = [
    ...functions.unmatched.map(
      (spec) => `allowedFunctions names "${spec}", which matches no function in the data product's schemas`,
    ),
    ...functions.ownedByService.map(
      (sig) => `the service account owns function ${sig}: an owner can always execute it; give it to another role`,
    ),
    ...(await ownershipWarnings(admin, role, schemas)),
  ];
  const result = { product: product.name, upstream: upstreamName(product), serviceRole: role, steps, warnings };
  if (options.dryRun || steps.length === 0) return { ...result, applied: false };
  await admin.query('BEGIN');
  try {
    await runSteps(admin, steps);
    await admin.query('COMMIT');
  } catch (error) {
    await admin.query('ROLLBACK');
    throw error;
  }
  return { ...result, applied: true };
}

async function canLogIn(product: DataProductConfig): Promise<boolean> {
  const client = serviceClient(product, 'pgveil provision');
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** An owner holds every privilege on what it owns, whatever is revoked: say so instead of pretending. */
async function ownershipWarnings(admin: Client, role: string, schemas: readonly string[]): Promise<string[]> {
  const rows = await admin.query<{ what: string }>(
    `SELECT 'database ' || pg_catalog.quote_ident(d.datname) AS what FROM pg_catalog.pg_database d
      WHERE d.datname = pg_catalog.current_database() AND pg_catalog.pg_get_userbyid(d.datdba) = $1
     UNION ALL
     SELECT 'schema ' || pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_namespace n
      WHERE n.nspname = ANY ($2) AND pg_catalog.pg_get_userbyid(n.nspowner) = $1
     UNION ALL
     SELECT 'relation ' || c.oid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY ($2) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND pg_catalog.pg_get_userbyid(c.relowner) = $1`,
    [role, schemas],
  );
  return rows.rows.map(
    (r) => `the service account owns ${r.what}: an owner keeps every right on it; give it to another role`,
  );
}
