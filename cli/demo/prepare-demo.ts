/**
 * Lays out `.pgveil/demo/` on first run — bundled PostgreSQL with the demo data product, a service
 * account, pgveil's helper schema, TLS pair, policies with the two demo users, pgveil.yaml — and
 * reuses it afterwards, so a newcomer can read and edit every file.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createScramVerifier } from '../../proxy';
import { installHelperSchema } from '../../rewriter';
import { startEmbeddedUpstream, type EmbeddedUpstream } from './embedded-upstream';
import { loadDemoData, provisionServiceAccount } from './provision-data-product';
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
  const servicePassword = secretFile(join(dir, 'upstream-service.password'));
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
        await loadDemoData(db);
        await provisionServiceAccount(db, DEMO_DATABASE, { role: SERVICE_ROLE, password: servicePassword });
        await installHelperSchema(db, { schema: 'pgveil', ownerRole: 'pgveil_owner', serviceRole: SERVICE_ROLE, key: randomBytes(32) });
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
    return { configPath, upstream, tls: tls !== undefined };
  } catch (error) {
    await upstream.stop();
    throw error;
  }
}
