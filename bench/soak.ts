/**
 * Load and soak (not part of CI): N concurrent analysts for M minutes through a pgveil process,
 * mixing masked queries, refusals and prepared statements. Passes only with zero errors other than
 * the expected refusals, one audit record per statement, and pgveil's RSS flat over the run.
 *
 *   npm run soak -- [clients=200] [minutes=10]
 *
 * Each analyst session holds one upstream connection, so the upstream is a throwaway PostgreSQL
 * started with room for every client (see wide-upstream.ts).
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { Client } from 'pg';
import { demoSchemaSql } from '../cli/demo/demo-data';
import { createScramVerifier } from '../proxy';
import { demoPolicyYaml } from '../cli/demo/demo-policy';
import { startWideUpstream, SUPERUSER_PASSWORD } from './wide-upstream';
import { loadServerConfig } from '../cli/config/load-server-config';
import { provisionConfigured } from '../cli/provision/provision-configured';

const CLIENTS = Number(process.argv[2] ?? 200);
const MINUTES = Number(process.argv[3] ?? 10);
const DB = 'pgveil_soak';
const PORT = 6650;

const WORKLOAD: ReadonlyArray<{ sql: string; values?: unknown[]; name?: string; refused?: boolean }> = [
  { sql: 'SELECT id, email, ssn, phone FROM customers WHERE id = $1', values: [3], name: 'by-id' },
  { sql: 'SELECT region, count(*) FROM customers GROUP BY region' },
  {
    sql: 'SELECT c.email, sum(o.amount) FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY 1 ORDER BY 2 DESC LIMIT 10',
  },
  { sql: "SELECT count(*) FROM customers WHERE ssn LIKE '7%'" },
  { sql: 'SELECT card_number FROM orders WHERE id = $1', values: [42] },
  { sql: 'DELETE FROM customers', refused: true },
  { sql: 'SELECT * FROM pg_stats', refused: true },
];

/** The audit log of a long soak is larger than a string may be: count its lines as a stream. */
async function countLines(path: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(path)) for (const byte of chunk as Buffer) if (byte === 10) lines++;
  return lines;
}

async function rss(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const upstream = await startWideUpstream(CLIENTS + 50, 5499);
  const admin = upstream.admin('postgres');
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.end();
  const db = upstream.admin(DB);
  await db.connect();
  await db.query(demoSchemaSql);
  const upstreamVersion = String(
    (await db.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version,
  );
  await db.end();

  const dir = mkdtempSync(join(tmpdir(), 'pgveil-soak-'));
  writeFileSync(
    join(dir, 'policies.yaml'),
    demoPolicyYaml({
      upstreamPort: upstream.port,
      upstreamDatabase: DB,
      serviceRole: 'pgveil_soak_svc',
      passwordFile: upstream.servicePasswordFile,
      analystVerifier: createScramVerifier('analyst'),
      stewardVerifier: createScramVerifier('steward'),
    })
      .replace('name: demo', `name: ${DB}`)
      .replace('dataProduct: demo', `dataProduct: ${DB}`),
  );
  writeFileSync(
    join(dir, 'pgveil.yaml'),
    `listen: { host: 127.0.0.1, port: ${PORT} }\npolicies: [ policies.yaml ]\naudit: { file: audit.jsonl }\nlog: { level: warn }\n`,
  );
  // The service account, the helper schema and its key, as `pgveil provision` sets them up.
  await provisionConfigured(loadServerConfig(join(dir, 'pgveil.yaml')), {
    admin: { user: 'postgres', password: SUPERUSER_PASSWORD },
    key: Buffer.alloc(32, 3),
  });
  const proxy = spawn(
    'node',
    [join(__dirname, '..', 'cli', 'pgveil.js'), 'serve', '--config', join(dir, 'pgveil.yaml')],
    { stdio: 'inherit' },
  );
  for (let i = 0; i < 100; i++) {
    if (
      await new Promise<boolean>((r) => {
        const s = connect({ port: PORT, host: '127.0.0.1' }, () => (s.destroy(), r(true)));
        s.on('error', () => r(false));
      })
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }

  const deadline = Date.now() + MINUTES * 60_000;
  let statements = 0;
  let refusals = 0;
  const unexpected: string[] = [];
  const samples: Array<{ minute: number; rssMb: number }> = [];
  samples.push({ minute: 0, rssMb: await rss(proxy.pid!) });
  const sampler = setInterval(
    () =>
      void rss(proxy.pid!).then((mb) =>
        samples.push({
          minute: Math.round(((Date.now() - (deadline - MINUTES * 60_000)) / 60_000) * 10) / 10,
          rssMb: mb,
        }),
      ),
    30_000,
  );
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, n) => {
      const c = new Client({ host: '127.0.0.1', port: PORT, user: 'analyst', password: 'analyst', database: DB });
      c.on('error', (e) => unexpected.push(`client ${n}: ${e.message}`));
      await c.connect();
      for (let i = n; Date.now() < deadline; i++) {
        const w = WORKLOAD[i % WORKLOAD.length]!;
        try {
          await c.query(w.name ? { name: w.name, text: w.sql, values: w.values } : { text: w.sql, values: w.values });
          if (w.refused) unexpected.push(`not refused: ${w.sql}`);
        } catch (error) {
          if (w.refused && (error as { code?: string }).code === '42501') refusals++;
          else unexpected.push(`${w.sql}: ${(error as Error).message}`);
        }
        statements++;
      }
      await c.end();
    }),
  );
  clearInterval(sampler);
  await new Promise((r) => setTimeout(r, 500));
  const audited = await countLines(join(dir, 'audit.jsonl'));
  proxy.kill('SIGTERM');
  await new Promise((r) => proxy.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  await upstream.stop();
  // The first sample is taken before the clients connect; flatness is judged from the next one on.
  const first = samples[1]?.rssMb ?? 0;
  const last = samples[samples.length - 1]?.rssMb ?? 0;
  const report = [
    `## Soak: ${CLIENTS} concurrent analysts for ${MINUTES} minutes (${new Date().toISOString()})`,
    '',
    `Command: \`npm run soak -- ${CLIENTS} ${MINUTES}\` (upstream: a throwaway PostgreSQL ${upstreamVersion} with max_connections ${CLIENTS + 50}). Workload: masked point queries (prepared), aggregates, a join, a LIKE over a hashed column, two refusals.`,
    '',
    `- statements: ${statements} (${Math.round(statements / (MINUTES * 60))} per second), expected refusals: ${refusals}`,
    `- unexpected errors: ${unexpected.length}${unexpected.length > 0 ? ` (first: ${unexpected[0]})` : ''}`,
    `- audit records: ${audited} for ${statements} statements sent`,
    `- pgveil RSS every 30 s (MB): ${samples.map((s) => s.rssMb.toFixed(0)).join(', ')}; under load from ${first.toFixed(0)} (first sample with all clients connected) to ${last.toFixed(0)} at the end`,
    '',
  ].join('\n');
  process.stdout.write(report);
  writeFileSync(join(__dirname, '..', '..', 'bench', 'SOAK.md'), `${report}\n`);
  process.exit(unexpected.length === 0 && audited === statements ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`soak failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
