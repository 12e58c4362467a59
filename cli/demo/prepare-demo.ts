/**
 * Lays out `.pgveil/demo/` on first run — bundled PostgreSQL with the demo data product, a service
 * account and pgveil's helper schema (set up through `pgveil provision`'s code path), TLS pair,
 * policies with the two demo users, pgveil.yaml — and reuses it afterwards, so a newcomer can read
 * and edit every file.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createScramVerifier } from '../../proxy';
import { startEmbeddedUpstream, type EmbeddedUpstream } from './embedded-upstream';
import { demoSchemaSql } from './demo-data';
import { loadServerConfig } from '../config/load-server-config';
import { provisionConfigured } from '../provision/provision-configured';
import { ensureSelfSignedCertificate } from './self-signed-certificate';
import { demoPolicyYaml } from './demo-policy';

export const SERVICE_ROLE = 'pgveil_service';
export const DEMO_DATABASE = 'demo';

export interface PreparedDemo {
  readonly configPath: string;
  readonly upstream: EmbeddedUpstream;
  readonly tls: boolean;
}

/** A secret kept in a file readable only by its owner; made once, then reused. */
function secretFile(path: string): string {
  if (!existsSync(path)) writeFileSync(path, randomBytes(24).toString('base64url'), { mode: 0o600 });
  return readFileSync(path, 'utf8').trim();
}

export async function prepareDemo(dirArgument: string, port: number, upstreamPort: number): Promise<PreparedDemo> {
  const dir = resolve(dirArgument);
  mkdirSync(dir, { recursive: true });
  // As root the bundled PostgreSQL runs as the `postgres` user, which must be able to reach db/ below.
  if (process.getuid?.() === 0) chmodSync(dir, 0o711);
  const superuserPassword = secretFile(join(dir, 'upstream-superuser.password'));
  secretFile(join(dir, 'upstream-service.password')); // named by policies.yaml; provisioning sets it
  const upstream = await startEmbeddedUpstream(dir, upstreamPort, superuserPassword);
  try {
    if (upstream.fresh) {
      const admin = upstream.client('postgres');
      await admin.connect();
      await admin.query(`CREATE DATABASE ${DEMO_DATABASE}`);
      await admin.end();
      const db = upstream.client(DEMO_DATABASE);
      await db.connect();
      try {
        await db.query(demoSchemaSql);
      } finally {
        await db.end();
      }
    }
    const policiesPath = join(dir, 'policies.yaml');
    if (!existsSync(policiesPath)) {
      writeFileSync(policiesPath, demoPolicyYaml({
        upstreamPort,
        upstreamDatabase: DEMO_DATABASE,
        serviceRole: SERVICE_ROLE,
        passwordFile: 'upstream-service.password',
        analystVerifier: createScramVerifier('analyst'),
        stewardVerifier: createScramVerifier('steward'),
      }));
    }
    const tls = ensureSelfSignedCertificate(dir);
    const configPath = join(dir, 'pgveil.yaml');
    if (!existsSync(configPath)) {
      writeFileSync(configPath, [
        '# pgveil configuration for the demo (see cli/config/server-config-schema.json).',
        `listen: { host: 127.0.0.1, port: ${port} }`,
        ...(tls ? ['tls: { cert: server.crt, key: server.key }'] : []),
        'policies: [ policies.yaml ]',
        'audit: { file: audit/audit.jsonl, rawStatements: false, failClosed: true }',
        'events: { sinks: [ { type: file, path: audit/events.jsonl } ] }',
        'helperSchema: pgveil',
        '',
      ].join('\n'));
    }
    // The service account, the helper schema and its key: exactly what `pgveil provision --config
    // pgveil.yaml --product demo` does, as the bundled server's superuser.
    if (upstream.fresh) {
      await provisionConfigured(loadServerConfig(configPath), { product: 'demo', admin: { user: 'postgres', password: superuserPassword } });
    }
    return { configPath, upstream, tls: tls !== undefined };
  } catch (error) {
    await upstream.stop();
    throw error;
  }
}
