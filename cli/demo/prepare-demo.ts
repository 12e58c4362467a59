/**
 * Lays out `.pgveil/demo/` on first run — bundled PostgreSQL with the demo data product, a service
 * account and pgveil's helper schema (set up through `pgveil provision`'s code path), TLS pair,
 * policies with the two demo users, pgveil.yaml — and reuses it afterwards, so a newcomer can read
 * and edit every file. `--port`/`--upstream-port` given again on an existing directory are written
 * into its files (demo-files.ts).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createScramVerifier } from '../../proxy';
import { startEmbeddedUpstream, type EmbeddedUpstream } from './embedded-upstream';
import { demoSchemaSql } from './demo-data';
import { loadServerConfig } from '../config/load-server-config';
import { provisionConfigured } from '../provision/provision-configured';
import { ensureSelfSignedCertificate } from './self-signed-certificate';
import { demoPolicyYaml } from './demo-policy';
import { settleListenPort, settleUpstreamPort, upgradePolicies, type PortChoice } from './demo-files';

export const SERVICE_ROLE = 'pgveil_service';
export const DEMO_DATABASE = 'demo';

export interface PreparedDemo {
  readonly configPath: string;
  readonly upstream: EmbeddedUpstream;
  readonly tls: boolean;
  /** What was changed in an existing directory (flags applied, an older layout upgraded). */
  readonly notices: readonly string[];
}

export interface DemoOptions {
  readonly port: PortChoice;
  readonly upstreamPort: PortChoice;
}

/** A secret kept in a file readable only by its owner; made once, then reused. */
function secretFile(path: string): string {
  if (!existsSync(path)) writeFileSync(path, randomBytes(24).toString('base64url'), { mode: 0o600 });
  return readFileSync(path, 'utf8').trim();
}

/**
 * Every step checks what is there and makes what is missing, on every start: a start that failed
 * half-way (a port in use, Ctrl-C during the first load) is completed by the next one instead of
 * leaving a database that accepts no login.
 */
export async function prepareDemo(dirArgument: string, options: DemoOptions): Promise<PreparedDemo> {
  const dir = resolve(dirArgument);
  mkdirSync(dir, { recursive: true });
  // As root the bundled PostgreSQL runs as the `postgres` user, which must be able to reach db/ below.
  if (process.getuid?.() === 0) chmodSync(dir, 0o711);
  const policiesPath = join(dir, 'policies.yaml');
  const configPath = join(dir, 'pgveil.yaml');
  const notices: string[] = [];
  const upgraded = upgradePolicies(policiesPath);
  if (upgraded) notices.push(upgraded);
  const listen = settleListenPort(configPath, options.port);
  const upstreamPort = settleUpstreamPort(policiesPath, options.upstreamPort);
  for (const n of [listen.notice, upstreamPort.notice]) if (n) notices.push(n);
  const superuserPassword = secretFile(join(dir, 'upstream-superuser.password'));
  secretFile(join(dir, 'upstream-service.password')); // named by policies.yaml; provisioning sets it
  const upstream = await startEmbeddedUpstream(dir, upstreamPort.port, superuserPassword);
  try {
    await ensureDemoDatabase(upstream);
    if (!existsSync(policiesPath)) {
      writeFileSync(
        policiesPath,
        demoPolicyYaml({
          upstreamPort: upstreamPort.port,
          upstreamDatabase: DEMO_DATABASE,
          serviceRole: SERVICE_ROLE,
          passwordFile: 'upstream-service.password',
          analystVerifier: createScramVerifier('analyst'),
          stewardVerifier: createScramVerifier('steward'),
          partnerVerifier: createScramVerifier('partner'),
        }),
      );
    }
    const tls = ensureSelfSignedCertificate(dir);
    if (!existsSync(configPath)) {
      writeFileSync(
        configPath,
        [
          '# pgveil configuration for the demo (see cli/config/server-config-schema.json).',
          `listen: { host: 127.0.0.1, port: ${listen.port} }`,
          ...(tls ? ['tls: { cert: server.crt, key: server.key }'] : []),
          'policies: [ policies.yaml ]',
          'audit: { file: audit/audit.jsonl, rawStatements: false, failClosed: true }',
          'events: { sinks: [ { type: file, path: audit/events.jsonl } ] }',
          'helperSchema: pgveil',
          '',
        ].join('\n'),
      );
    }
    // The service account, the helper schema and its key: exactly what `pgveil provision --config
    // pgveil.yaml --product demo` does, as the bundled server's superuser. Idempotent (an existing
    // key is kept), so every start repairs what an interrupted one left undone.
    await provisionConfigured(loadServerConfig(configPath), {
      product: 'demo',
      admin: { user: 'postgres', password: superuserPassword },
    });
    return { configPath, upstream, tls: tls !== undefined, notices };
  } catch (error) {
    await upstream.stop();
    // A cluster made by this start holds nothing worth keeping: the next start makes it again.
    if (upstream.fresh) rmSync(join(dir, 'db'), { recursive: true, force: true });
    throw error;
  }
}

/** The `demo` database with its data; the load is one transaction, so it is there whole or not at all. */
async function ensureDemoDatabase(upstream: EmbeddedUpstream): Promise<void> {
  const admin = upstream.client('postgres');
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [DEMO_DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DEMO_DATABASE}`);
  } finally {
    await admin.end();
  }
  const db = upstream.client(DEMO_DATABASE);
  await db.connect();
  try {
    const loaded = await db.query<{ loaded: boolean }>(
      "SELECT pg_catalog.to_regclass('public.customers') IS NOT NULL AS loaded",
    );
    if (loaded.rows[0]?.loaded !== true) await db.query(`BEGIN;\n${demoSchemaSql}\nCOMMIT;`);
  } finally {
    await db.end();
  }
}
