/**
 * Load and soak (not part of CI): N concurrent sessions for M minutes through a pgveil process,
 * analysts and (one in four) stewards, whose policies differ, mixing masked queries, refusals and
 * prepared statements. Passes only with zero errors other than the expected refusals, every
 * statement answered, every answer the same as that principal's first answer to that statement
 * (the data does not change: a different one came from another client's statement or policy), one
 * audit record per statement, and pgveil's RSS flat over the run.
 *
 *   npm run soak -- [clients=200] [minutes=10] [pool=N]
 *
 * Unpooled (the default), each analyst session holds one upstream connection, so the upstream is a
 * throwaway PostgreSQL started with room for every client (see wide-upstream.ts), and the report
 * goes to bench/SOAK.md. With `pool=N` the data product is pooled in transaction mode on N
 * connections of the machine's own PostgreSQL, with its default max_connections (issue #17);
 * bench/pooling.ts runs it that way and reports it with the other pooling figures.
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { demoSchemaSql } from '../cli/demo/demo-data';
import { createScramVerifier } from '../proxy';
import { demoPolicyYaml } from '../cli/demo/demo-policy';
import { startWideUpstream, SUPERUSER_PASSWORD } from './wide-upstream';
import { loadServerConfig } from '../cli/config/load-server-config';
import { provisionConfigured } from '../cli/provision/provision-configured';
import { waitForPort } from './run-all';

const DB = 'pgveil_soak';
const SERVICE_ROLE = 'pgveil_soak_svc';
const PORT = 6650;
const MACHINE_PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
/** How long after the end a statement may still be unanswered before the soak calls it lost. */
const ANSWER_GRACE_MS = 60_000;

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

export interface SoakOptions {
  readonly clients: number;
  readonly seconds: number;
  /** Transaction pooling on this many connections of the machine's PostgreSQL; unset: unpooled. */
  readonly poolSize?: number;
}

export interface SoakResult {
  /** Statements sent; each is answered (or counted in `unexpected`). */
  readonly statements: number;
  readonly refusals: number;
  readonly unexpected: readonly string[];
  readonly audited: number;
  readonly rssSamples: ReadonlyArray<{ readonly second: number; readonly rssMb: number }>;
  /** The most connections the service account held upstream at any sample. */
  readonly maxServiceConnections: number;
  /** Which PostgreSQL served it, for the report. */
  readonly upstream: string;
}

/** The audit log of a long soak is larger than a string may be: count its lines as a stream. */
async function countLines(path: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(path)) for (const byte of chunk as Buffer) if (byte === 10) lines++;
  return lines;
}

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/** The soak's upstream: a throwaway server with room for every client, or the machine's own. */
interface SoakUpstream {
  readonly port: number;
  readonly passwordFile: string;
  readonly superuserPassword: string | undefined;
  readonly description: string;
  admin(database: string): Client;
  /** Removes what the soak created. */
  tearDown(): Promise<void>;
}

async function wideUpstream(clients: number): Promise<SoakUpstream> {
  const upstream = await startWideUpstream(clients + 50, 5499);
  const admin = upstream.admin('postgres');
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DB}`);
  const version = String(
    (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version,
  );
  await admin.end();
  return {
    port: upstream.port,
    passwordFile: upstream.servicePasswordFile,
    superuserPassword: SUPERUSER_PASSWORD,
    description: `a throwaway PostgreSQL ${version} with max_connections ${clients + 50}`,
    admin: (database) => upstream.admin(database),
    tearDown: () => upstream.stop(),
  };
}

/** The machine's PostgreSQL (trust): the database and, if the soak created it, the service role are removed after. */
async function machineUpstream(dir: string): Promise<SoakUpstream> {
  const admin = (database: string): Client => new Client({ ...MACHINE_PG, database });
  const c = admin('postgres');
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await c.query(`CREATE DATABASE ${DB}`);
  const roleExisted = (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [SERVICE_ROLE])).rowCount === 1;
  const settings = await c.query<{ server_version: string; max_connections: string }>(
    "SELECT current_setting('server_version') AS server_version, current_setting('max_connections') AS max_connections",
  );
  await c.end();
  const passwordFile = join(dir, 'service.password');
  writeFileSync(passwordFile, 'soak-service');
  return {
    port: MACHINE_PG.port,
    passwordFile,
    superuserPassword: undefined,
    description: `the machine's PostgreSQL ${settings.rows[0]!.server_version} with max_connections ${settings.rows[0]!.max_connections}`,
    admin,
    tearDown: async () => {
      const t = admin('postgres');
      await t.connect();
      await t.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
      if (!roleExisted) await t.query(`DROP ROLE IF EXISTS ${SERVICE_ROLE}`);
      await t.end();
    },
  };
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-soak-'));
  const upstream = options.poolSize ? await machineUpstream(dir) : await wideUpstream(options.clients);
  try {
    return await soakThrough(upstream, dir, options);
  } finally {
    await upstream.tearDown();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function soakThrough(upstream: SoakUpstream, dir: string, options: SoakOptions): Promise<SoakResult> {
  const db = upstream.admin(DB);
  await db.connect();
  await db.query(demoSchemaSql);
  await db.end();
  const pool = options.poolSize
    ? `\n      pool: { mode: transaction, size: ${options.poolSize}, waitTimeoutMs: 30000 }`
    : '';
  writeFileSync(
    join(dir, 'policies.yaml'),
    demoPolicyYaml({
      upstreamPort: upstream.port,
      upstreamDatabase: DB,
      serviceRole: SERVICE_ROLE,
      passwordFile: upstream.passwordFile,
      analystVerifier: createScramVerifier('analyst'),
      stewardVerifier: createScramVerifier('steward'),
    })
      .replace('name: demo', `name: ${DB}`)
      .replace('dataProduct: demo', `dataProduct: ${DB}`)
      .replace(`passwordFile: ${upstream.passwordFile}`, `passwordFile: ${upstream.passwordFile}${pool}`),
  );
  writeFileSync(
    join(dir, 'pgveil.yaml'),
    `listen: { host: 127.0.0.1, port: ${PORT} }\npolicies: [ policies.yaml ]\naudit: { file: audit/audit.jsonl }\nlimits: { maxClientConnections: ${options.clients + 100} }\nlog: { level: warn }\n`,
  );
  // The service account, the helper schema and its key, as `pgveil provision` sets them up.
  await provisionConfigured(loadServerConfig(join(dir, 'pgveil.yaml')), {
    admin: { user: 'postgres', password: upstream.superuserPassword },
    key: Buffer.alloc(32, 3),
  });
  const proxy = spawn(
    'node',
    [join(__dirname, '..', 'cli', 'pgveil.js'), 'serve', '--config', join(dir, 'pgveil.yaml')],
    { stdio: 'inherit' },
  );
  try {
    await waitForPort(PORT);
    const watcher = upstream.admin('postgres');
    await watcher.connect();
    try {
      return await drive(proxy.pid!, watcher, options, join(dir, 'audit', 'audit.jsonl'), upstream.description);
    } finally {
      await watcher.end();
    }
  } finally {
    proxy.kill('SIGTERM');
    await new Promise((r) => proxy.once('exit', r));
  }
}

async function drive(
  pid: number,
  watcher: Client,
  options: SoakOptions,
  auditFile: string,
  upstream: string,
): Promise<SoakResult> {
  const started = Date.now();
  const deadline = started + options.seconds * 1000;
  let statements = 0;
  let refusals = 0;
  let maxServiceConnections = 0;
  const unexpected: string[] = [];
  const rssSamples: Array<{ second: number; rssMb: number }> = [{ second: 0, rssMb: rssMb(pid) }];
  const sample = async (): Promise<void> => {
    rssSamples.push({ second: Math.round((Date.now() - started) / 1000), rssMb: rssMb(pid) });
    const held = await watcher.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1 AND datname = $2',
      [SERVICE_ROLE, DB],
    );
    maxServiceConnections = Math.max(maxServiceConnections, Number(held.rows[0]!.n));
  };
  // Every 30 s in a long soak, at least six samples in a short one.
  const sampler = setInterval(() => void sample(), Math.min(30_000, Math.max(1000, (options.seconds * 1000) / 6)));
  let unanswered = 0;
  const firstAnswers = new Map<string, string>();
  const sessions = Promise.all(
    Array.from({ length: options.clients }, async (_, n) => {
      const user = n % 4 === 3 ? 'steward' : 'analyst';
      const c = new Client({ host: '127.0.0.1', port: PORT, user, password: user, database: DB });
      c.on('error', (e) => unexpected.push(`client ${n}: ${e.message}`));
      await c.connect();
      for (let i = n; Date.now() < deadline; i++) {
        const w = WORKLOAD[i % WORKLOAD.length]!;
        unanswered++;
        try {
          const answer = await c.query(
            w.name ? { name: w.name, text: w.sql, values: w.values } : { text: w.sql, values: w.values },
          );
          if (w.refused) unexpected.push(`not refused: ${w.sql}`);
          // Rows in a canonical order: a GROUP BY without ORDER BY may come in any.
          const seen = JSON.stringify(answer.rows.map((r) => JSON.stringify(r)).sort());
          const key = `${user}: ${w.sql}`;
          const first = firstAnswers.get(key);
          if (first === undefined) firstAnswers.set(key, seen);
          else if (first !== seen)
            unexpected.push(`wrong answer to ${key}: ${seen.slice(0, 200)}, first ${first.slice(0, 200)}`);
        } catch (error) {
          if (w.refused && (error as { code?: string }).code === '42501') refusals++;
          else unexpected.push(`${w.sql}: ${(error as Error).message}`);
        } finally {
          unanswered--;
        }
        statements++;
      }
      await c.end();
    }),
  );
  // A statement that never gets its answer would hang the soak: it is reported instead.
  const grace = new Promise<'hung'>((r) => setTimeout(() => r('hung'), options.seconds * 1000 + ANSWER_GRACE_MS));
  const outcome = await Promise.race([sessions.then(() => 'done' as const), grace]);
  clearInterval(sampler);
  if (outcome === 'hung')
    unexpected.push(`${unanswered} statements still unanswered ${ANSWER_GRACE_MS / 1000} s after the end`);
  await sample();
  await new Promise((r) => setTimeout(r, 500));
  return {
    statements,
    refusals,
    unexpected,
    audited: await countLines(auditFile),
    rssSamples,
    maxServiceConnections,
    upstream,
  };
}

/** The soak's lines of a report; `passed` when nothing was lost. */
export function soakLines(result: SoakResult, options: SoakOptions): { lines: string[]; passed: boolean } {
  const { statements, refusals, unexpected, audited, rssSamples } = result;
  // The first sample is taken before the clients connect; flatness is judged from the next one on.
  const first = rssSamples[1]?.rssMb ?? 0;
  const last = rssSamples[rssSamples.length - 1]?.rssMb ?? 0;
  return {
    passed: unexpected.length === 0 && audited === statements,
    lines: [
      `- statements: ${statements} (${Math.round(statements / options.seconds)} per second), expected refusals: ${refusals}`,
      `- unexpected errors, wrong answers or unanswered statements: ${unexpected.length}${unexpected.length > 0 ? ` (first: ${unexpected[0]})` : ''}`,
      `- audit records: ${audited} for ${statements} statements sent`,
      `- service account connections upstream, most at any sample: ${result.maxServiceConnections}${options.poolSize ? ` (pool size ${options.poolSize}, plus pgveil's own connection for catalog reads)` : ''}`,
      `- pgveil RSS (MB) at ${rssSamples.map((s) => `${s.second} s: ${s.rssMb.toFixed(0)}`).join(', ')}; under load from ${first.toFixed(0)} (first sample with all clients connected) to ${last.toFixed(0)} at the end`,
    ],
  };
}

async function main(): Promise<void> {
  const clients = Number(process.argv[2] ?? 200);
  const minutes = Number(process.argv[3] ?? 10);
  const poolArgument = process.argv.find((a) => a.startsWith('pool='));
  const options: SoakOptions = {
    clients,
    seconds: minutes * 60,
    poolSize: poolArgument ? Number(poolArgument.slice('pool='.length)) : undefined,
  };
  const result = await runSoak(options);
  const { lines, passed } = soakLines(result, options);
  const report = [
    `## Soak: ${clients} concurrent sessions for ${minutes} minutes (${new Date().toISOString()})`,
    '',
    `Command: \`npm run soak -- ${process.argv.slice(2).join(' ')}\` (upstream: ${result.upstream}${options.poolSize ? `, transaction pooling on ${options.poolSize} connections` : ''}). Sessions: analysts and, one in four, stewards. Workload: masked point queries (prepared), aggregates, a join, a LIKE over a hashed column, two refusals; every answer compared with its principal's first answer to the statement.`,
    '',
    ...lines,
    '',
  ].join('\n');
  process.stdout.write(report);
  // bench/SOAK.md holds the unpooled soak that `npm run bench` carries over; a pooled one is bench:pool's.
  if (!options.poolSize) writeFileSync(join(__dirname, '..', '..', 'bench', 'SOAK.md'), `${report}\n`);
  process.exit(passed ? 0 : 1);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`soak failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
