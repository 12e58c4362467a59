/**
 * Issue #17's throughput comparison: pgbench -S with many clients (200) in simple, extended and
 * prepared mode, each peer in the same run, modes interleaved so that drift affects all alike:
 *
 * - direct, and unpooled pgveil (session mode: one upstream connection per client), on a throwaway
 *   PostgreSQL started with room for every client (the machine's allows 100);
 * - pooled pgveil (transaction mode, `poolSize` connections) and PgBouncer in transaction mode with
 *   the same pool size (when Debian's package is installed), on the machine's own PostgreSQL with
 *   its default max_connections: the situation pooling is for.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DB, setUp, startPgbouncer, waitForPort, writeProxyConfig } from './run-all';
import { spawnPgveil, type PgveilProcess } from './pgveil-process';
import { pgbenchSteady } from './pgbench-steady';
import { startWideUpstream, SUPERUSER_PASSWORD } from './wide-upstream';

export const MODES = ['simple', 'extended', 'prepared'] as const;
export type Mode = (typeof MODES)[number];

const WIDE_PORT = 5497; // run-all uses 5498, the soak 5499
const UNPOOLED_PORT = 6660;
const POOLED_PORT = 6661;
const BOUNCER_PORT = 6662;

export interface ThroughputOptions {
  readonly clients: number;
  readonly poolSize: number;
  readonly seconds: number;
}

export interface PeerResult {
  readonly name: string;
  readonly server: string;
  /** tps per mode; NaN when the run failed (see `failures`). */
  readonly tps: ReadonlyMap<Mode, number>;
  /** Microseconds of the proxy process's CPU per statement, per mode (proxies only). */
  readonly cpuPerStatement: ReadonlyMap<Mode, number>;
  readonly failures: ReadonlyMap<Mode, string>;
  /** pgbench's initial connection time per mode, milliseconds. */
  readonly connectMs: ReadonlyMap<Mode, number>;
  /** pgbench's -T per mode: the bench's seconds and the time its clients take to connect. */
  readonly window: ReadonlyMap<Mode, number>;
}

export interface ThroughputResult {
  readonly peers: readonly PeerResult[];
  /** Connections the pooled pgveil's service account held upstream after its runs. */
  readonly pooledUpstreamConnections: number;
}

interface Peer {
  readonly name: string;
  readonly server: string;
  readonly port: number;
  readonly user: string;
  readonly password?: string;
  /** The proxy's process, whose CPU is measured during each run. */
  readonly pid?: number;
  /** What the proxy logged last, for a failure's report. */
  readonly logTail?: () => string;
}

/** The first line of pgbench's complaint: the reason a peer fails a mode. */
function reasonOf(error: unknown): string {
  const text = String((error as { stderr?: string }).stderr || (error instanceof Error ? error.message : error));
  const line = text.split('\n').find((l) => /error|abort|fatal|could not/i.test(l)) ?? text.split('\n')[0];
  return (line ?? '').trim().slice(0, 300);
}

async function describe(port: number, password?: string): Promise<string> {
  const c = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await c.connect();
  const r = await c.query<{ v: string; m: string; b: string }>(
    "SELECT current_setting('server_version') AS v, current_setting('max_connections') AS m, current_setting('shared_buffers') AS b",
  );
  await c.end();
  const { v, m, b } = r.rows[0]!;
  return `PostgreSQL ${v}, max_connections ${m}, shared_buffers ${b}`;
}

/** Connections pgveil's bench service account holds on the machine's PostgreSQL. */
export async function serviceConnections(): Promise<number> {
  const c = new Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await c.connect();
  const r = await c.query<{ n: string }>(
    "SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'pgveil_bench_svc' AND datname = $1",
    [DB],
  );
  await c.end();
  return Number(r.rows[0]!.n);
}

export async function measurePoolThroughput(dir: string, options: ThroughputOptions): Promise<ThroughputResult> {
  const wide = await startWideUpstream(options.clients + 50, WIDE_PORT);
  const stops: Array<() => Promise<void>> = [() => wide.stop()];
  try {
    const wideDir = join(dir, 'unpooled');
    const machineDir = join(dir, 'pooled');
    for (const d of [wideDir, machineDir]) mkdirSync(d);
    // PgBouncer runs as the postgres user when the bench runs as root: a directory it can reach.
    const bouncerDir = mkdtempSync(join(tmpdir(), 'pgveil-bench-pgbouncer-'));
    stops.push(async () => rmSync(bouncerDir, { recursive: true, force: true }));
    const wideServer = {
      port: wide.port,
      superuserPassword: SUPERUSER_PASSWORD,
      servicePasswordFile: wide.servicePasswordFile,
    };
    await setUp(wideDir, wideServer);
    await setUp(machineDir);
    const maxClients = options.clients + 100;
    const unpooled = spawnPgveil(
      writeProxyConfig(wideDir, { port: wide.port, passwordFile: wide.servicePasswordFile }, UNPOOLED_PORT, maxClients),
      join(wideDir, 'pgveil.log'),
    );
    stops.push(() => unpooled.stop());
    const pool = { size: options.poolSize, waitTimeoutMs: 30_000 };
    const pooled = spawnPgveil(
      writeProxyConfig(machineDir, { port: 5432, pool }, POOLED_PORT, maxClients),
      join(machineDir, 'pgveil.log'),
    );
    stops.push(() => pooled.stop());
    const bouncer = startPgbouncer(bouncerDir, options.poolSize, BOUNCER_PORT);
    if (bouncer) stops.push(async () => void bouncer.kill('SIGTERM'));
    await waitForPort(UNPOOLED_PORT);
    await waitForPort(POOLED_PORT);

    const wideName = `throwaway: ${await describe(wide.port, SUPERUSER_PASSWORD)}`;
    const machineName = `machine's: ${await describe(5432)}`;
    const proxyPeer = (name: string, server: string, port: number, p: PgveilProcess): Peer => ({
      name,
      server,
      port,
      user: 'analyst',
      password: 'analyst',
      pid: p.pid,
      logTail: () => p.logTail(),
    });
    const peers: Peer[] = [
      { name: 'direct', server: wideName, port: wide.port, user: 'postgres', password: SUPERUSER_PASSWORD },
      proxyPeer('pgveil unpooled (session mode: a connection per client)', wideName, UNPOOLED_PORT, unpooled),
      proxyPeer(`pgveil pooled (transaction mode, ${options.poolSize} connections)`, machineName, POOLED_PORT, pooled),
    ];
    if (bouncer) {
      // One that does not start stays in the table: its runs fail with pgbench's reason and its log.
      await waitForPort(BOUNCER_PORT, 5000).catch(() => undefined);
      const log = join(bouncerDir, 'pgbouncer.log');
      peers.push({
        name: `PgBouncer (transaction mode, default_pool_size ${options.poolSize}; no masking)`,
        server: machineName,
        port: BOUNCER_PORT,
        user: 'postgres',
        pid: bouncer.pid,
        logTail: () => (existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n').slice(-5).join('\n') : ''),
      });
    }
    return { peers: await runPeers(peers, options), pooledUpstreamConnections: await serviceConnections() };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

async function runPeers(peers: readonly Peer[], options: ThroughputOptions): Promise<PeerResult[]> {
  const results = peers.map((p) => ({
    name: p.name,
    server: p.server,
    tps: new Map<Mode, number>(),
    cpuPerStatement: new Map<Mode, number>(),
    failures: new Map<Mode, string>(),
    connectMs: new Map<Mode, number>(),
    window: new Map<Mode, number>(),
  }));
  // Warm-up, untimed: caches, the JIT, the pools' connections; and how long the clients take to
  // connect, since pgbench's -T window includes it: each timed run gets that time on top (twice
  // over, and a second), so that about `seconds` remain once every client is in.
  const allowance = new Map<Peer, number>();
  for (const peer of peers) {
    let connectMs = 0;
    try {
      const warm = await pgbenchSteady(peer, 'simple', 2, options.clients);
      connectMs = Number.isNaN(warm.connectMs) ? warm.wallMs : warm.connectMs;
    } catch {
      // A peer that fails here fails below too, where it is reported.
    }
    allowance.set(peer, Math.ceil((2 * connectMs) / 1000) + 1);
  }
  // Modes interleaved, each peer once per mode, so that drift affects all alike.
  for (const mode of MODES) {
    for (const [i, peer] of peers.entries()) {
      const result = results[i]!;
      const window = options.seconds + allowance.get(peer)!;
      try {
        const run = await pgbenchSteady(peer, mode, window, options.clients);
        result.connectMs.set(mode, run.connectMs);
        result.window.set(mode, window);
        if (Number.isNaN(run.tps)) throw new Error(`no transaction completed in -T ${window}: connecting took it all`);
        result.tps.set(mode, run.tps);
        if (run.cpuSeconds !== undefined) result.cpuPerStatement.set(mode, (run.cpuSeconds * 1e6) / run.transactions);
      } catch (error) {
        result.tps.set(mode, Number.NaN);
        result.failures.set(mode, reasonOf(error));
        const tail = peer.logTail?.();
        process.stderr.write(`${peer.name}, ${mode}: ${reasonOf(error)}${tail ? `\n  its log ends:\n${tail}` : ''}\n`);
      }
    }
  }
  return results;
}
