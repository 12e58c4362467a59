/**
 * `npm run bench:pool`: transaction pooling (issue #17), every figure beside its baseline measured
 * in the same run, written to bench/RESULTS.md:
 *
 * 1. pgbench -S, 200 clients, simple / extended / prepared: direct and unpooled pgveil on a
 *    throwaway PostgreSQL that allows every client a connection; pooled pgveil (transaction mode,
 *    20 connections) and PgBouncer (transaction mode, default_pool_size 20) on the machine's
 *    PostgreSQL with its default max_connections (pool-throughput.ts);
 * 2. pgveil's RSS with 10,000 idle authenticated sessions on a pool of 20 (pool-idle-sessions.ts);
 * 3. the 200-client soak through a pool of 20 on the machine's PostgreSQL (soak.ts, pool mode).
 *
 * Needs the machine's PostgreSQL (127.0.0.1:5432, trust), pgbench, Debian's PostgreSQL server
 * binaries (for the throwaway server), an open-file limit above the idle session count
 * (`ulimit -n 20000`), and for PgBouncer's row: `apt-get install -y pgbouncer` (Debian 12: 1.18).
 * The figures mean something only on an otherwise idle machine: the load average is reported.
 *
 * Smaller runs, to try the bench (reported as a smoke run, not as figures):
 *   PGVEIL_BENCH_SECONDS=3 PGVEIL_POOL_CLIENTS=20 PGVEIL_POOL_IDLE_SESSIONS=300 \
 *   PGVEIL_POOL_SOAK_SECONDS=10 npm run bench:pool
 * The issue's 10-minute soak: PGVEIL_POOL_SOAK_SECONDS=600.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import { DB } from './run-all';
import { measurePoolThroughput, MODES, type ThroughputResult } from './pool-throughput';
import { measureIdleSessions, type IdleResult } from './pool-idle-sessions';
import { runSoak, soakLines, type SoakOptions, type SoakResult } from './soak';
import { writeResultsSection } from './results-section';

const FULL = { clients: 200, poolSize: 20, seconds: 10, idleSessions: 10_000, soakSeconds: 60 };
const setting = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const CLIENTS = setting('PGVEIL_POOL_CLIENTS', FULL.clients);
const POOL_SIZE = setting('PGVEIL_POOL_SIZE', FULL.poolSize);
const SECONDS = setting('PGVEIL_BENCH_SECONDS', FULL.seconds);
const IDLE_SESSIONS = setting('PGVEIL_POOL_IDLE_SESSIONS', FULL.idleSessions);
const SOAK_SECONDS = setting('PGVEIL_POOL_SOAK_SECONDS', FULL.soakSeconds);
/** Pooled pgveil's throughput as a share of unpooled pgveil's, in every mode (issue #17). */
const POOLED_TARGET = 0.9;
const RSS_TARGET_MB = 600;

const HEADING = '## Transaction pooling (#17)';

const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const version = (cmd: string): string => {
  try {
    return execFileSync(cmd, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  } catch {
    return `${cmd}: not installed`;
  }
};

/** The environment that reproduces this run: only the settings that differ from the full bench. */
function command(): string {
  const env = [
    ['PGVEIL_BENCH_SECONDS', SECONDS, FULL.seconds],
    ['PGVEIL_POOL_CLIENTS', CLIENTS, FULL.clients],
    ['PGVEIL_POOL_SIZE', POOL_SIZE, FULL.poolSize],
    ['PGVEIL_POOL_IDLE_SESSIONS', IDLE_SESSIONS, FULL.idleSessions],
    ['PGVEIL_POOL_SOAK_SECONDS', SOAK_SECONDS, FULL.soakSeconds],
  ]
    .filter(([, value, full]) => value !== full)
    .map(([name, value]) => `${name}=${value} `)
    .join('');
  return `${env}npm run bench:pool`;
}

/** Fewer clients, sessions or seconds than the issue asks for: the figures only show the bench runs. */
const smoke = (): boolean =>
  CLIENTS < FULL.clients ||
  SECONDS < FULL.seconds ||
  IDLE_SESSIONS < FULL.idleSessions ||
  SOAK_SECONDS < FULL.soakSeconds;

function throughputLines(t: ThroughputResult): string[] {
  const direct = t.peers[0]!;
  const unpooled = t.peers[1]!;
  const pooled = t.peers[2]!;
  const cell = (tps: number, base: number): string =>
    Number.isNaN(tps) ? 'fails' : `${fmt(tps, 0)} (${fmt(tps / base)})`;
  const lines = [
    `### pgbench -S, ${CLIENTS} clients (-j 2), ${SECONDS} s per run once connected, scale 10; masking and a row filter on pgbench_accounts through pgveil`,
    '',
    '| peer | PostgreSQL | simple tps (ratio to direct) | extended tps (ratio) | prepared tps (ratio) |',
    '| --- | --- | --- | --- | --- |',
    ...t.peers.map(
      (p) => `| ${p.name} | ${p.server} | ${MODES.map((m) => cell(p.tps.get(m)!, direct.tps.get(m)!)).join(' | ')} |`,
    ),
    `| **pooled / unpooled pgveil** (target at least ${POOLED_TARGET}) | | ${MODES.map((m) => {
      const ratio = pooled.tps.get(m)! / unpooled.tps.get(m)!;
      return `**${fmt(ratio)}**${ratio >= POOLED_TARGET ? '' : ' (under target)'}`;
    }).join(' | ')} |`,
    '',
    `Connections pooled pgveil's service account held on the machine's PostgreSQL after its runs: ${t.pooledUpstreamConnections} (pool size ${POOL_SIZE}).`,
    '',
    'CPU of the proxy process per statement, microseconds (user + system time of all its threads from the moment every client was connected to the end of the run, over the statements pgbench completed; connecting and authenticating the clients is left out, as pgbench leaves it out of tps):',
    '',
    '| proxy | simple | extended | prepared |',
    '| --- | --- | --- | --- |',
    ...t.peers
      .filter((p) => p !== direct)
      .map((p) => `| ${p.name} | ${MODES.map((m) => fmt(p.cpuPerStatement.get(m) ?? Number.NaN, 1)).join(' | ')} |`),
    '',
    `pgbench's initial connection time of its ${CLIENTS} clients in ms, and the run's -T in s: -T includes connecting (tps leaves it out), so each peer's runs last ${SECONDS} s more than twice its clients took to connect in the warm-up, plus 1 s:`,
    '',
    '| peer | simple | extended | prepared |',
    '| --- | --- | --- | --- |',
    ...t.peers.map(
      (p) =>
        `| ${p.name} | ${MODES.map((m) => `${fmt(p.connectMs.get(m) ?? Number.NaN, 0)} ms, -T ${p.window.get(m) ?? '-'}`).join(' | ')} |`,
    ),
  ];
  const failures = t.peers.flatMap((p) => [...p.failures].map(([m, why]) => `- ${p.name}, ${m}: \`${why}\``));
  if (failures.length > 0) lines.push('', 'Failed runs (pgbench exited with an error):', '', ...failures);
  return lines;
}

function idleLines(r: IdleResult): string[] {
  return [
    `### ${r.sessions} idle authenticated sessions on a pool of ${POOL_SIZE}`,
    '',
    `node-postgres clients authenticated with SCRAM as \`analyst\`, opened 50 at a time in ${fmt(r.openSeconds, 1)} s, then left idle 2 s. pgveil RSS (VmRSS): **${fmt(r.rssIdleMb, 1)} MB** with them (target at most ${RSS_TARGET_MB} MB with 10,000), ${fmt(r.rssBeforeMb, 1)} MB before they connected. Upstream connections of its service account meanwhile: ${r.upstreamConnections}. Afterwards ${r.sampledAlive} of ${r.sampled} sessions sampled across them answered a point query. Open-file limit of the bench and pgveil processes: ${r.openFileLimit} (\`ulimit -n\`, inherited).`,
  ];
}

function soakSection(result: SoakResult, options: SoakOptions): string[] {
  const { lines, passed } = soakLines(result, options);
  return [
    `### Soak: ${options.clients} concurrent sessions for ${options.seconds} s through a pool of ${POOL_SIZE}`,
    '',
    `Upstream: ${result.upstream}. bench/soak.ts: analysts and, one in four, stewards (other policies); masked point queries as named prepared statements, aggregates, a join, a LIKE over a hashed column, two refusals; every answer compared with its principal's first answer to the statement; the same soak alone: \`npm run soak -- ${options.clients} ${Number((options.seconds / 60).toFixed(2))} pool=${POOL_SIZE}\`. ${passed ? 'Nothing lost: every statement answered, as expected, and audited.' : '**Failed: statements unanswered, unexpected errors, wrong answers or audit records missing.**'}`,
    '',
    ...lines,
  ];
}

async function machineAdmin(): Promise<Client> {
  const c = new Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await c.connect();
  return c;
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-bench-pool-'));
  const admin = await machineAdmin();
  const roleExisted = (await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'pgveil_bench_svc'")).rowCount === 1;
  await admin.end();
  try {
    const throughput = await measurePoolThroughput(dir, { clients: CLIENTS, poolSize: POOL_SIZE, seconds: SECONDS });
    const idleDir = join(dir, 'idle');
    mkdirSync(idleDir);
    const idle = await measureIdleSessions(idleDir, IDLE_SESSIONS, POOL_SIZE);
    const soakOptions: SoakOptions = { clients: CLIENTS, seconds: SOAK_SECONDS, poolSize: POOL_SIZE };
    const soak = await runSoak(soakOptions);
    const loadAfter = loadavg()[0]!;
    const lines = [
      HEADING,
      '',
      ...(smoke()
        ? [
            '**SMOKE RUN, not figures: fewer clients, sessions or seconds than the bench measures, to check that every row is produced. Run `npm run bench:pool` on an idle machine for the figures.**',
            '',
          ]
        : []),
      `Measured ${new Date().toISOString()} on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${version('pgbench')}, ${version('/usr/sbin/pgbouncer')}; whole run ${Math.round((Date.now() - started) / 1000)} s; load average (1 min) ${fmt(loadBefore)} at the start, ${fmt(loadAfter)} at the end (above the core count, other processes took CPU from the run).`,
      '',
      `Reproduce: \`${command()}\` (see bench/pooling.ts for what it needs).`,
      '',
      "Direct and unpooled pgveil run on a throwaway PostgreSQL (the machine's Debian binaries, max_connections for every client, fsync off; the workload reads only) because unpooled pgveil holds a connection per client; pooled pgveil and PgBouncer run on the machine's own PostgreSQL, whose default max_connections is what pooling is for. PgBouncer 1.18 has no named prepared statements in transaction mode: its prepared column is expected to fail.",
      '',
      ...throughputLines(throughput),
      '',
      ...idleLines(idle),
      '',
      ...soakSection(soak, soakOptions),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    writeResultsSection(HEADING, lines);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const c = await machineAdmin();
    await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    if (!roleExisted) await c.query('DROP ROLE IF EXISTS pgveil_bench_svc');
    await c.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:pool failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
