/**
 * The whole product in a test: the demo data product in a fresh database of the machine's
 * PostgreSQL, a service account that may only read it, the helper schema, the demo policies, and a
 * running pgveil on an ephemeral port.
 */
import { Client } from 'pg';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { createTestDatabase, PG_HOST, PG_PORT, PG_SUPERUSER, type TestDatabase } from './postgres';
import { REDIS_URL } from './redis';
import { demoSchemaSql } from '../../cli/demo/demo-data';
import { demoPolicyYaml } from '../../cli/demo/demo-policy';
import { provisionDataProduct } from '../../cli/provision/provision-data-product';
import { loadPolicyFiles } from '../../policies';
import { createScramVerifier } from '../../proxy';
import { loadServerConfig } from '../../cli/config/load-server-config';
import { startPgveil, type RunningPgveil } from '../../cli/runtime/start-pgveil';

export interface Stack {
  readonly db: TestDatabase;
  readonly pgveil: RunningPgveil;
  readonly port: number;
  readonly dir: string;
  readonly auditFile: string;
  readonly eventsFile: string;
  readonly policiesFile: string;
  readonly serviceRole: string;
  connect(user: 'analyst' | 'steward', options?: string): Promise<Client>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** SQL run as superuser after the demo data is loaded (canaries, extra tables). */
  readonly extraSql?: string;
  /** Replaces the demo policy file. */
  readonly policyYaml?: (demo: string) => string;
  /** Configure Redis (the machine's) under this key prefix. */
  readonly redisPrefix?: string;
  /** Writes the policy text where it likes (a symlink, a ConfigMap layout) and returns the path pgveil.yaml names. */
  readonly policyLayout?: (dir: string, yaml: string) => string | readonly string[];
  /** Extra lines for pgveil.yaml (sinks, admin, anomalies...). */
  readonly configLines?: readonly string[];
  /** pgveil's main log (silent by default). */
  readonly logger?: Logger;
}

export async function startStack(prefix: string, options: StackOptions = {}): Promise<Stack> {
  const db = await createTestDatabase(prefix);
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-stack-'));
  const serviceRole = `pgveil_svc_${randomBytes(4).toString('hex')}`;
  const servicePassword = randomBytes(12).toString('hex');
  const admin = new Client(db.config());
  await admin.connect();
  try {
    await admin.query(demoSchemaSql);
    if (options.extraSql) await admin.query(options.extraSql);
  } finally {
    await admin.end();
  }
  writeFileSync(join(dir, 'service.password'), servicePassword);
  const demo = demoPolicyYaml({
    upstreamPort: PG_PORT,
    upstreamDatabase: db.name,
    serviceRole,
    passwordFile: 'service.password',
    analystVerifier: createScramVerifier('analyst'),
    stewardVerifier: createScramVerifier('steward'),
  }).replace('host: 127.0.0.1', `host: ${PG_HOST}`);
  const policyText = options.policyYaml ? options.policyYaml(demo) : demo;
  const policyFiles = options.policyLayout
    ? [options.policyLayout(dir, policyText)].flat()
    : [join(dir, 'policies.yaml')];
  const policiesFile = policyFiles[0]!;
  if (!options.policyLayout) writeFileSync(policiesFile, policyText);
  writeFileSync(
    join(dir, 'pgveil.yaml'),
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      `policies: ${JSON.stringify(policyFiles)}`,
      'audit: { file: audit/audit.jsonl }',
      ...(options.configLines?.some((l) => l.startsWith('events:'))
        ? []
        : ['events: { sinks: [ { type: file, path: audit/events.jsonl } ] }']),
      ...(options.configLines ?? []),
      ...(options.configLines?.some((l) => l.startsWith('limits:')) ? [] : ['limits: { startupTimeoutMs: 5000 }']),
      ...(options.redisPrefix
        ? [`redis: { url: "${REDIS_URL}", keyPrefix: "${options.redisPrefix}", refreshMs: 100 }`]
        : []),
      '',
    ].join('\n'),
  );
  // The service account, the helper schema and its key, the way `pgveil provision` sets them up,
  // on the PostgreSQL that really listens (a test may route pgveil through a relay or a dead port).
  const config = loadServerConfig(join(dir, 'pgveil.yaml'));
  for (const product of loadPolicyFiles(config.policies).dataProducts.values()) {
    const upstream = { ...product.upstream, host: PG_HOST, port: PG_PORT };
    await provisionDataProduct(
      { ...product, upstream },
      { admin: { user: PG_SUPERUSER }, helperSchema: config.helperSchema },
    );
  }
  const pgveil = await startPgveil(config, options.logger ?? pino({ level: 'silent' }));
  return {
    db,
    pgveil,
    port: pgveil.port,
    dir,
    auditFile: join(dir, 'audit/audit.jsonl'),
    eventsFile: join(dir, 'audit/events.jsonl'),
    policiesFile,
    serviceRole,
    async connect(user, startupOptions) {
      const c = new Client({
        host: '127.0.0.1',
        port: pgveil.port,
        user,
        password: user,
        database: 'demo',
        ...(startupOptions ? { options: startupOptions } : {}),
      });
      await c.connect();
      return c;
    },
    async stop() {
      await pgveil.close();
      await db.drop();
      const cleanup = new Client({ host: PG_HOST, port: PG_PORT, user: 'postgres', database: 'postgres' });
      await cleanup.connect();
      await cleanup.query(`DROP ROLE IF EXISTS ${serviceRole}`).catch(() => undefined);
      await cleanup.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
