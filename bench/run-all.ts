/**
 * `npm run bench`: every benchmark in one run on this machine, each figure as a ratio to its
 * baseline measured in the same run, written to bench/RESULTS.md. Needs the machine's PostgreSQL
 * (127.0.0.1:5432, trust) and pgbench; PgBouncer and pgpool-II are measured when installed
 * (Debian packages pgbouncer, pgpool2).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { Client } from 'pg';
import { demoSchemaSql } from '../cli/demo/demo-data';
import { initRewriter, loadCatalog, rewrite, type RewriteContext } from '../rewriter';
import { createScramVerifier } from '../proxy';
import { benchPolicies, latencySection, measureRewriteLatency, type LatencyResult } from './rewrite-latency';
import { TPCH_SQL } from '../test/support/tpch';
import { SUPERUSER_PASSWORD, startWideUpstream } from './wide-upstream';
import { loadServerConfig } from '../cli/config/load-server-config';
import { provisionConfigured } from '../cli/provision/provision-configured';
import { measureStatementPath } from './statement-path';
import { measureSessionPath } from './session-path';

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
export const DB = 'pgveil_bench';
const ROOT = join(__dirname, '..', '..');
const CORPUS = process.env.PGVEIL_CORPUS ?? join(ROOT, 'test', 'fixtures', 'corpus');
const PROXY_PORT = 6632;
const BOUNCER_PORT = 6633;
const PGPOOL_PORT = 6634;
const CONNECTIONS_PROXY_PORT = 6637; // 6635 is pgpool-II's PCP port
const NODE_RELAY_PORT = 6638;
const WIDE_UPSTREAM_PORT = 5498;
const DURATION = Number(process.env.PGVEIL_BENCH_SECONDS ?? 10);
/**
 * Seconds of untimed load before a pgveil process is measured. After its first statements V8 keeps
 * compiling libpg-query's WebAssembly (the parser's hot functions, TurboFan in background threads):
 * about 2-3 s of CPU once per process, which a 2-second warm-up left inside the measured runs (the
 * first 4 s of pgbench -M extended cost 1,262 µs of CPU per statement, the next 4 s 225, then 160-180).
 */
export const WARMUP_SECONDS = Number(process.env.PGVEIL_BENCH_WARMUP_SECONDS ?? 10);
/** Extra node flags for the proxy process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it. */
const PROXY_NODE_ARGS = (process.env.PGVEIL_BENCH_PROXY_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** `e2e` skips the in-process rewrite latency run (for profiling the proxy). */
const ONLY = process.env.PGVEIL_BENCH_ONLY;

const sh = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string =>
  execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
const fmt = (n: number, digits = 2): string => n.toFixed(digits);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const STREAM_RUNS = 5;

async function admin(database = 'postgres', server: BenchServer = MACHINE): Promise<Client> {
  const c = new Client({ ...PG, port: server.port, password: server.superuserPassword, database });
  await c.connect();
  return c;
}

/** Where the bench database lives: the machine's PostgreSQL, or a throwaway one (wide-upstream.ts). */
export interface BenchServer {
  readonly port: number;
  /** The superuser's password, when the server authenticates with SCRAM. */
  readonly superuserPassword?: string;
  /** The service account's password file, for the policy's `passwordFile`. */
  readonly servicePasswordFile?: string;
}

const MACHINE: BenchServer = { port: PG.port };

/** The bench database on `server` (the machine's PostgreSQL by default), provisioned as `pgveil provision` does it. */
export async function setUp(dir: string, server: BenchServer = MACHINE): Promise<void> {
  const password = server.superuserPassword;
  const c = await admin('postgres', server);
  await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await c.query(`CREATE DATABASE ${DB}`);
  await c.end();
  sh(
    'pgbench',
    ['-i', '-q', '-s', '10', '-h', PG.host, '-p', String(server.port), '-U', PG.user, DB],
    password ? { PGPASSWORD: password } : {},
  );
  const db = await admin(DB, server);
  await db.query(demoSchemaSql);
  await db.query(TPCH_SQL);
  await db.end();
  await provisionConfigured(
    loadServerConfig(writeProxyConfig(dir, { port: server.port, passwordFile: server.servicePasswordFile })),
    { admin: { user: PG.user, password }, key: Buffer.alloc(32, 9) },
  );
}

/** pgveil's configuration for the bench, by default in front of the machine's PostgreSQL. */
export function writeProxyConfig(
  dir: string,
  upstream: { port: number; passwordFile?: string; pool?: { size: number; waitTimeoutMs: number } } = {
    port: PG.port,
  },
  proxyPort = PROXY_PORT,
  maxClientConnections = 2000,
): string {
  const pool = upstream.pool
    ? `, pool: { mode: transaction, size: ${upstream.pool.size}, waitTimeoutMs: ${upstream.pool.waitTimeoutMs} }`
    : '';
  writeFileSync(
    join(dir, 'policies.yaml'),
    `
tags: [pii.email, pii.ssn]
dataProducts:
  - name: ${DB}
    domain: bench
    upstream: { host: 127.0.0.1, port: ${upstream.port}, database: ${DB}, user: pgveil_bench_svc${upstream.passwordFile ? `, passwordFile: ${upstream.passwordFile}` : ''}${pool} }
globalPolicies:
  - id: mask-filler
    columns: [ { columns: [pgbench_accounts.filler], action: { kind: mask, keepFirst: 2, keepLast: 2 } } ]
  - id: mask-pii
    columns: [ { tags: [pii.email], action: { kind: mask_email } }, { tags: [pii.ssn], action: { kind: hash } } ]
domainPolicies:
  - id: branch-rows
    domain: bench
    tables: [pgbench_accounts]
    rows: { column: bid, in: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }
subscriptions: [ { dataProduct: ${DB}, users: [analyst] } ]
users: [ { name: analyst, password: "${createScramVerifier('analyst')}" } ]
`,
  );
  writeFileSync(
    join(dir, 'pgveil.yaml'),
    `listen: { host: 127.0.0.1, port: ${proxyPort} }\npolicies: [ policies.yaml ]\naudit: { file: audit/audit.jsonl }\nlimits: { maxClientConnections: ${maxClientConnections} }\nlog: { level: warn }\n`,
  );
  return join(dir, 'pgveil.yaml');
}

export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function rssKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
}

/** PgBouncer in transaction mode in front of the machine's PostgreSQL, when Debian's package is installed. */
export function startPgbouncer(dir: string, poolSize = 16, port = BOUNCER_PORT): ChildProcess | undefined {
  if (!existsSync('/usr/sbin/pgbouncer')) return undefined;
  writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    `[databases]\n${DB} = host=127.0.0.1 port=5432 dbname=${DB}\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${port}\nauth_type = trust\nauth_file = ${join(dir, 'userlist.txt')}\npool_mode = transaction\nmax_client_conn = 2000\ndefault_pool_size = ${poolSize}\nlogfile = ${join(dir, 'pgbouncer.log')}\npidfile = ${join(dir, 'pgbouncer.pid')}\nunix_socket_dir =\n`,
  );
  const args = [join(dir, 'pgbouncer.ini')];
  if (process.getuid?.() === 0) args.unshift('-u', 'postgres');
  execFileSync('chmod', ['-R', 'a+rwX', dir]);
  return spawn('/usr/sbin/pgbouncer', args, { stdio: 'ignore' });
}

function startPgpool(dir: string): ChildProcess | undefined {
  if (!existsSync('/usr/sbin/pgpool')) return undefined;
  writeFileSync(
    join(dir, 'pgpool.conf'),
    [
      `listen_addresses = '127.0.0.1'`,
      `port = ${PGPOOL_PORT}`,
      `backend_hostname0 = '127.0.0.1'`,
      `backend_port0 = 5432`,
      `backend_weight0 = 1`,
      `backend_flag0 = 'ALLOW_TO_FAILOVER'`,
      `enable_pool_hba = off`,
      `num_init_children = 16`,
      `max_pool = 4`,
      `connection_cache = on`,
      `load_balance_mode = off`,
      `sr_check_period = 0`,
      `health_check_period = 0`,
      `pid_file_name = '${join(dir, 'pgpool.pid')}'`,
      `logdir = '${dir}'`,
      `socket_dir = '${dir}'`,
      `pcp_socket_dir = '${dir}'`,
      `pcp_port = ${PGPOOL_PORT + 1}`,
      `unix_socket_directories = '${dir}'`,
      `pcp_socket_directories = '${dir}'`,
      `wd_ipc_socket_dir = '${dir}'`,
      `backend_clustering_mode = 'raw'`,
      `log_destination = 'stderr'`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'pcp.conf'), '');
  return spawn('/usr/sbin/pgpool', ['-n', '-f', join(dir, 'pgpool.conf'), '-F', join(dir, 'pcp.conf')], {
    stdio: 'ignore',
  });
}

/**
 * pgbench's point query as pgveil rewrites it, as a pgbench script: run directly on PostgreSQL it
 * measures what the policy itself (masks, row filter) costs PostgreSQL, apart from any proxy.
 */
async function writeRewrittenPointQuery(db: Client, dir: string): Promise<string> {
  await initRewriter();
  const context: RewriteContext = {
    principal: { user: 'analyst', groups: [], attributes: {} },
    dataProduct: 'bench',
    searchPath: ['$user', 'public'],
    catalog: await loadCatalog(db),
    policies: benchPolicies(),
    helperSchema: 'pgveil',
  };
  const outcome = rewrite('SELECT abalance FROM pgbench_accounts WHERE aid = 987654321', context);
  if (outcome.kind !== 'plan' || !outcome.sql.includes('987654321')) throw new Error('point query not rewritten');
  const path = join(dir, 'rewritten-point-query.sql');
  writeFileSync(path, `\\set aid random(1, 100000 * 10)\n${outcome.sql.replace('987654321', ':aid')};\n`);
  return path;
}

/** pgbench's arguments for a run of `seconds` against pgveil's bench database (`-S` unless a script). */
export function pgbenchArgs(
  port: number,
  mode: string,
  user: string,
  script?: string,
  seconds = DURATION,
  clients = 8,
): string[] {
  return [
    ...(script ? ['-f', script] : ['-S']),
    '-n',
    '-c',
    String(clients),
    '-j',
    '2',
    '-T',
    String(seconds),
    '-M',
    mode,
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    user,
    DB,
  ];
}

/** tps (without the initial connection time) and transactions, from pgbench's report. */
export function parsePgbench(out: string): { tps: number; transactions: number } {
  const tps = /tps = ([\d.]+)/.exec(out)?.[1];
  const transactions = /number of transactions actually processed: (\d+)/.exec(out)?.[1];
  if (!tps || !transactions) throw new Error(`pgbench printed no tps:\n${out}`);
  return { tps: Number(tps), transactions: Number(transactions) };
}

export function pgbench(
  port: number,
  mode: string,
  user: string,
  password?: string,
  script?: string,
  seconds = DURATION,
): { tps: number; transactions: number } {
  return parsePgbench(
    sh('pgbench', pgbenchArgs(port, mode, user, script, seconds), password ? { PGPASSWORD: password } : {}),
  );
}

const CLOCK_TICKS = Number(sh('getconf', ['CLK_TCK']).trim());

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ');
  // After the command name: state is field 3, utime field 14 and stime field 15 of proc(5).
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function streamSeconds(port: number, user: string, password?: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  sh(
    'psql',
    [
      '-X',
      '-q',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      user,
      '-d',
      DB,
      '-c',
      "\\copy (SELECT i, repeat('x', 40) FROM generate_series(1, 1000000) i) to '/dev/null'",
    ],
    password ? { PGPASSWORD: password } : {},
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function idleSessions(port: number, count: number): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from(
      { length: Math.min(50, count - i) },
      () => new Client({ host: '127.0.0.1', port, user: 'analyst', password: 'analyst', database: DB }),
    );
    for (const c of batch) c.on('error', () => undefined);
    await Promise.all(batch.map((c) => c.connect()));
    clients.push(...batch);
  }
  return clients;
}

const SESSIONS = 1000;

/**
 * Idle sessions through a second pgveil in front of a throwaway PostgreSQL that allows them all:
 * every session holds its own upstream connection, and the machine's server allows 100.
 */
async function measureIdleSessions(
  dir: string,
  count: number,
): Promise<{ rssKb: number; rssBeforeKb: number; upstreamVersion: string }> {
  const upstream = await startWideUpstream(count + 100, WIDE_UPSTREAM_PORT);
  const proxyDir = join(dir, 'connections');
  mkdirSync(proxyDir);
  let proxy: ChildProcess | undefined;
  try {
    const admin = upstream.admin('postgres');
    await admin.connect();
    await admin.query(`CREATE DATABASE ${DB}`);
    const upstreamVersion = String(
      (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version,
    );
    await admin.end();
    const config = writeProxyConfig(
      proxyDir,
      { port: upstream.port, passwordFile: upstream.servicePasswordFile },
      CONNECTIONS_PROXY_PORT,
    );
    await provisionConfigured(loadServerConfig(config), { admin: { user: 'postgres', password: SUPERUSER_PASSWORD } });
    proxy = spawn('node', [join(__dirname, '..', 'cli', 'pgveil.js'), 'serve', '--config', config], {
      stdio: 'ignore',
    });
    await waitForPort(CONNECTIONS_PROXY_PORT);
    const rssBeforeKb = rssKb(proxy.pid!, 'VmRSS');
    const sessions = await idleSessions(CONNECTIONS_PROXY_PORT, count);
    await new Promise((r) => setTimeout(r, 1000));
    const rss = rssKb(proxy.pid!, 'VmRSS');
    await Promise.all(sessions.map((c) => c.end().catch(() => undefined)));
    return { rssKb: rss, rssBeforeKb, upstreamVersion };
  } finally {
    proxy?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await upstream.stop();
  }
}

/** The headings of the sections this run writes; every other section of RESULTS.md is another bench's. */
const OWN_SECTIONS = [
  '## Rewrite latency',
  '## End to end',
  '## Streaming',
  '## Connections',
  '## Last run of',
  '## Soak',
  '## Where the proxy',
];

function sectionsOfOtherBenches(): string[] {
  const file = join(__dirname, '..', '..', 'bench', 'RESULTS.md');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split(/\n(?=## )/)
    .filter((section) => section.startsWith('## ') && !OWN_SECTIONS.some((own) => section.startsWith(own)))
    .map((section) => `${section.trimEnd()}\n`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-bench-'));
  await setUp(dir);
  const lines: string[] = [];
  const commands: string[] = [`PGVEIL_BENCH_SECONDS=${DURATION}`, 'npm run bench'];

  // 1. Rewrite latency (in process).
  const db = await admin(DB);
  const latency: LatencyResult | undefined = ONLY === 'e2e' ? undefined : await measureRewriteLatency(db, CORPUS);
  const rewrittenScript = await writeRewrittenPointQuery(db, dir);
  const path = await measureStatementPath(db);
  const sessionPath = await measureSessionPath(db);
  await db.end();

  // 2. End to end, 3. streaming, 4. idle sessions: pgveil as its own process.
  const proxy = spawn(
    'node',
    [...PROXY_NODE_ARGS, join(__dirname, '..', 'cli', 'pgveil.js'), 'serve', '--config', writeProxyConfig(dir)],
    { stdio: 'ignore' },
  );
  const bouncer = startPgbouncer(dir);
  const relay = spawn('node', [join(__dirname, 'node-relay.js'), String(NODE_RELAY_PORT), String(PG.port)], {
    stdio: 'ignore',
  });
  const pool = startPgpool(dir);
  try {
    await waitForPort(PROXY_PORT);
    // `pid`: a single-process proxy whose CPU per statement is measured during its runs.
    const peers: Array<{ name: string; port: number; user: string; password?: string; script?: string; pid?: number }> =
      [
        { name: 'direct', port: PG.port, user: PG.user },
        { name: 'pgveil', port: PROXY_PORT, user: 'analyst', password: 'analyst', pid: proxy.pid },
        {
          name: "direct, running the statement as pgveil rewrites it (the policy's own cost in PostgreSQL)",
          port: PG.port,
          user: PG.user,
          script: rewrittenScript,
        },
      ];
    if (
      bouncer &&
      (await waitForPort(BOUNCER_PORT, 5000).then(
        () => true,
        () => false,
      ))
    )
      peers.push({ name: 'pgbouncer (transaction)', port: BOUNCER_PORT, user: PG.user, pid: bouncer.pid });
    if (
      pool &&
      (await waitForPort(PGPOOL_PORT, 10000).then(
        () => true,
        () => false,
      ))
    )
      peers.push({ name: 'pgpool-II', port: PGPOOL_PORT, user: PG.user });
    await waitForPort(NODE_RELAY_PORT);
    const modes = ['simple', 'extended', 'prepared'];
    peers.push({
      name: 'Node.js byte relay (floor for a Node proxy)',
      port: NODE_RELAY_PORT,
      user: PG.user,
      pid: relay.pid,
    });
    const tps = new Map<string, number>();
    /** Microseconds of the proxy process's CPU per pgbench transaction (one statement with -S). */
    const cpuPerStatement = new Map<string, number>();
    // Every peer warmed up first in every mode (caches, the JIT, upstream connections), untimed;
    // pgveil first until V8 is done compiling (WARMUP_SECONDS).
    pgbench(PROXY_PORT, 'simple', 'analyst', 'analyst', undefined, WARMUP_SECONDS);
    for (const mode of modes)
      for (const peer of peers) {
        try {
          pgbench(peer.port, mode, peer.user, peer.password, peer.script, 2);
        } catch {
          // A peer that fails here fails below too, where it is reported.
        }
      }
    // Modes interleaved, each peer once per mode, so drift affects all alike.
    // A peer that cannot run a mode (PgBouncer before 1.21 in transaction mode has no named
    // prepared statements) is reported as failing, not left out.
    for (const mode of modes) {
      for (const peer of peers) {
        let value = Number.NaN;
        try {
          const cpuBefore = peer.pid ? cpuSeconds(peer.pid) : 0;
          const run = pgbench(peer.port, mode, peer.user, peer.password, peer.script);
          value = run.tps;
          if (peer.pid)
            cpuPerStatement.set(`${peer.name}/${mode}`, ((cpuSeconds(peer.pid) - cpuBefore) * 1e6) / run.transactions);
        } catch {
          value = Number.NaN;
        }
        tps.set(`${peer.name}/${mode}`, value);
      }
    }
    // A stream takes about a third of a second here: the median of interleaved runs, not one run.
    const rssBefore = rssKb(proxy.pid!, 'VmRSS');
    const directRuns: number[] = [];
    const proxyRuns: number[] = [];
    for (let i = 0; i < STREAM_RUNS; i++) {
      directRuns.push(await streamSeconds(PG.port, PG.user));
      proxyRuns.push(await streamSeconds(PROXY_PORT, 'analyst', 'analyst'));
    }
    const directStream = median(directRuns);
    const proxyStream = median(proxyRuns);
    const hwmAfterStream = rssKb(proxy.pid!, 'VmHWM');
    const connections = await measureIdleSessions(dir, SESSIONS);

    lines.push(
      '# Benchmark results',
      '',
      `Measured ${new Date().toISOString()} on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${sh('psql', ['--version']).trim()}; whole run ${Math.round((Date.now() - started) / 1000)} s.`,
      '',
      `Reproduce: \`${commands.join(' ')}\` (PostgreSQL on 127.0.0.1:5432; pgbouncer and pgpool2 from Debian when installed).`,
      '',
    );
    if (latency) lines.push(...latencySection(latency));
    lines.push(
      `## End to end: pgbench -S, 8 clients, ${DURATION} s per run, scale 10, masking and a row filter on pgbench_accounts through pgveil`,
      '',
      '| peer | simple tps (ratio) | extended tps (ratio) | prepared tps (ratio) |',
      '| --- | --- | --- | --- |',
    );
    for (const peer of peers) {
      const cell = (m: string): string => {
        const value = tps.get(`${peer.name}/${m}`)!;
        return Number.isNaN(value) ? 'fails' : `${fmt(value, 0)} (${fmt(value / tps.get(`direct/${m}`)!)})`;
      };
      lines.push(`| ${peer.name} | ${modes.map(cell).join(' | ')} |`);
    }
    lines.push(
      '',
      'CPU of the proxy process per statement, in microseconds (user + system time of all its threads during the run, over the statements pgbench completed):',
      '',
      '| proxy | simple | extended | prepared |',
      '| --- | --- | --- | --- |',
    );
    for (const peer of peers.filter((p) => p.pid)) {
      lines.push(
        `| ${peer.name} | ${modes.map((m) => (cpuPerStatement.has(`${peer.name}/${m}`) ? fmt(cpuPerStatement.get(`${peer.name}/${m}`)!, 1) : '-')).join(' | ')} |`,
      );
    }
    lines.push(
      '',
      'This machine has two cores, shared by pgbench, PostgreSQL and the proxy: every microsecond a proxy spends per statement is taken from the other two, so throughput follows CPU per statement. The Node.js relay does nothing but copy bytes between two sockets; what pgveil spends above it is its own work per statement. Measured in process in this run (mean microseconds per statement, no sockets):',
      '',
      "| pgveil's own work | us per statement |",
      '| --- | --- |',
      `| gate: rewrite served from the exact-text cache (extended and prepared modes) | ${fmt(path.exactHit, 1)} |`,
      `| gate: rewrite served from the literal template (simple mode: PostgreSQL's normalize finds the literals, which go back into the cached rewrite) | ${fmt(path.literalHit, 1)} |`,
      `| audit record (serialized, chained with SHA-256, written before the answer is relayed) and metrics | ${fmt(path.auditRecord, 1)} |`,
      `| all of it, socket-free (bench/session-path.ts: client bytes decoded, the statement pipeline, the gate, the audit record, upstream's answer through the backend relay), CPU µs per statement in simple / extended / prepared mode | ${fmt(sessionPath.simple, 1)} / ${fmt(sessionPath.extended, 1)} / ${fmt(sessionPath.prepared, 1)} |`,
      '',
      "Where the rest goes is counted by `npm run bench:perf` (bench/PERF.md, copied below): perf's samples of the running proxy, kernel included, charge pgveil's distance from the relay to V8 running pgveil's JavaScript (its interpreter, inline caches, builtins, runtime and compiled code), the kernel (the audit log's write and one more wake-up per statement), and the garbage collector. `npm run bench:profile` charges a V8 profile of the running proxy to each source file (bench/PROFILE.md).",
    );
    lines.push(
      '',
      `## Streaming: 1,000,000 rows (\`\\copy (SELECT ...) to /dev/null\` with psql), median of ${STREAM_RUNS} interleaved runs`,
      '',
      `| path | seconds | throughput ratio to direct |`,
      '| --- | --- | --- |',
      `| direct | ${fmt(directStream)} | 1.00 |`,
      `| pgveil | ${fmt(proxyStream)} | ${fmt(directStream / proxyStream)} |`,
      '',
      `pgveil peak RSS growth during the stream: ${fmt((hwmAfterStream - rssBefore) / 1024, 1)} MB (target at most 50 MB).`,
      '',
    );
    lines.push(
      '## Connections',
      '',
      `pgveil RSS with ${SESSIONS} idle authenticated sessions (SCRAM, each with its upstream connection to a throwaway PostgreSQL ${connections.upstreamVersion} started with max_connections ${SESSIONS + 100}): ${fmt(connections.rssKb / 1024, 1)} MB, ${fmt(connections.rssBeforeKb / 1024, 1)} MB before they connected (target: at most 250 MB with 1,000 sessions).`,
      '',
    );
    // The soak runs for ten minutes, apart from this run: its last figures are carried over.
    const soak = join(__dirname, '..', '..', 'bench', 'SOAK.md');
    const profile = join(__dirname, '..', '..', 'bench', 'PROFILE.md');
    if (existsSync(profile))
      lines.push(
        `${readFileSync(profile, 'utf8').trim().replace(/^## /, '## Last run of `npm run bench:profile`, copied from bench/PROFILE.md: ')}`,
        '',
      );
    const perf = join(__dirname, '..', '..', 'bench', 'PERF.md');
    if (existsSync(perf))
      lines.push(
        `${readFileSync(perf, 'utf8').trim().replace(/^## /, '## Last run of `npm run bench:perf`, copied from bench/PERF.md: ')}`,
        '',
      );
    if (existsSync(soak))
      lines.push(
        `${readFileSync(soak, 'utf8')
          .trim()
          .replace(/^## Soak/, '## Soak (last run of `npm run soak`, copied from bench/SOAK.md)')}`,
        '',
      );
    // The sections other benches write on their own (discovery, catalog, ports, pooling) stay.
    lines.push(...sectionsOfOtherBenches());
    if (!ONLY) writeFileSync(join(__dirname, '..', '..', 'bench', 'RESULTS.md'), `${lines.join('\n')}\n`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await new Promise((r) => setTimeout(r, 200));
    proxy.kill('SIGTERM');
    bouncer?.kill('SIGTERM');
    relay.kill('SIGTERM');
    pool?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    const c = await admin();
    await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await c.end();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
