/** A demo data product in a fresh test database, its catalog, and rewrite contexts over it. */
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './postgres';
import { demoSchemaSql } from '../../cli/demo/demo-data';
import {
  initRewriter,
  loadCatalog,
  installHelperSchema,
  rewrite,
  type CatalogSnapshot,
  type RewriteContext,
  type RewriteOutcome,
} from '../../rewriter';
import type { PolicySnapshot } from '../../policies/decision';
import type { Principal } from '../../policies/principal';

export interface DemoProduct {
  readonly db: TestDatabase;
  readonly client: Client;
  /** The NOLOGIN role standing in for pgveil's service account (granted the helper function). */
  readonly serviceRole: string;
  catalog: CatalogSnapshot;
  context(policies: PolicySnapshot, principal?: Partial<Principal>, searchPath?: string[]): RewriteContext;
  rewrite(sql: string, policies: PolicySnapshot, principal?: Partial<Principal>): RewriteOutcome;
  /** Rewrites and runs; throws on refusal. */
  run(sql: string, policies: PolicySnapshot, principal?: Partial<Principal>): Promise<Array<Record<string, unknown>>>;
  reloadCatalog(): Promise<void>;
  stop(): Promise<void>;
}

export const ANALYST: Principal = { user: 'analyst', groups: ['analysts'], attributes: { region: 'EU' } };

export async function createDemoProduct(prefix: string, extraSql = ''): Promise<DemoProduct> {
  await initRewriter();
  const db = await createTestDatabase(prefix);
  await db.exec(demoSchemaSql + extraSql);
  const client = new Client(db.config());
  await client.connect();
  const serviceRole = `pgveil_svc_${randomBytes(3).toString('hex')}`;
  await client.query(`CREATE ROLE ${serviceRole} NOLOGIN`);
  await installHelperSchema(client, {
    schema: 'pgveil',
    ownerRole: 'pgveil_owner',
    serviceRole,
    key: Buffer.alloc(32, 7),
  });
  const product: DemoProduct = {
    db,
    client,
    serviceRole,
    catalog: await loadCatalog(client),
    context: (policies, principal = {}, searchPath = ['$user', 'public']) => ({
      principal: { ...ANALYST, ...principal },
      dataProduct: 'demo',
      searchPath,
      catalog: product.catalog,
      policies,
      helperSchema: 'pgveil',
    }),
    rewrite: (sql, policies, principal) => rewrite(sql, product.context(policies, principal)),
    async run(sql, policies, principal) {
      const outcome = product.rewrite(sql, policies, principal);
      if (outcome.kind === 'refusal') throw new Error(`refused: ${outcome.message}`);
      return (await client.query(outcome.sql)).rows as Array<Record<string, unknown>>;
    },
    async reloadCatalog() {
      product.catalog = await loadCatalog(client);
    },
    async stop() {
      await client.query(`DROP OWNED BY ${serviceRole}; DROP ROLE ${serviceRole}`).catch(() => undefined);
      await client.end();
      await db.drop();
    },
  };
  return product;
}
