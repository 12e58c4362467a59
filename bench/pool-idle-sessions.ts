/**
 * Issue #17's memory figure: many idle authenticated client sessions (node-postgres clients, SCRAM
 * as the policy's users) on a pgveil whose data product is pooled on a few connections of the
 * machine's PostgreSQL; pgveil's RSS once they are all connected and idle.
 *
 * Every session is a socket in this process and one in pgveil's: both need an open-file limit
 * above the session count. Node cannot raise its own, so a low limit is refused with the command
 * that raises it, rather than measured as a failure to connect.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { idleSessions, rssKb, waitForPort, writeProxyConfig } from './run-all';
import { serviceConnections } from './pool-throughput';
import { spawnPgveil } from './pgveil-process';

const IDLE_PORT = 6663;
/** Room above the sessions for pgveil's own files, the pool's sockets and the audit log. */
const FD_HEADROOM = 200;

export interface IdleResult {
  readonly sessions: number;
  readonly rssBeforeMb: number;
  readonly rssIdleMb: number;
  readonly openSeconds: number;
  /** Of a sample of the sessions, how many answered a statement after the measurement. */
  readonly sampledAlive: number;
  readonly sampled: number;
  readonly upstreamConnections: number;
  readonly openFileLimit: number;
}

/** The soft limit on open files of this process, which pgveil inherits. */
export function openFileLimit(): number {
  const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return line?.[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(line?.[1] ?? 1024);
}

/** `dir`: a directory of its own; the bench database must already be set up on the machine's server. */
export async function measureIdleSessions(dir: string, sessions: number, poolSize: number): Promise<IdleResult> {
  const limit = openFileLimit();
  if (limit < sessions + FD_HEADROOM)
    throw new Error(
      `open-file limit ${limit} is too low for ${sessions} sessions: run \`ulimit -n ${sessions + FD_HEADROOM}\` (or more) in this shell first`,
    );
  const config = writeProxyConfig(
    dir,
    { port: 5432, pool: { size: poolSize, waitTimeoutMs: 30_000 } },
    IDLE_PORT,
    sessions + FD_HEADROOM,
  );
  const pgveil = spawnPgveil(config, join(dir, 'pgveil.log'));
  let clients: Client[] = [];
  try {
    await waitForPort(IDLE_PORT);
    const rssBeforeMb = rssKb(pgveil.pid, 'VmRSS') / 1024;
    const t0 = Date.now();
    clients = await idleSessions(IDLE_PORT, sessions);
    const openSeconds = (Date.now() - t0) / 1000;
    // Idle: let whatever the connects left (buffers, promises) settle before reading RSS.
    await new Promise((r) => setTimeout(r, 2000));
    const rssIdleMb = rssKb(pgveil.pid, 'VmRSS') / 1024;
    const upstreamConnections = await serviceConnections();
    // The sessions are alive, not merely counted: a spread sample runs a statement.
    const step = Math.max(1, Math.floor(clients.length / 20));
    const sample = clients.filter((_, i) => i % step === 0);
    const alive = await Promise.all(
      sample.map((c) =>
        c.query('SELECT abalance FROM pgbench_accounts WHERE aid = 1').then(
          () => 1,
          () => 0,
        ),
      ),
    );
    return {
      sessions: clients.length,
      rssBeforeMb,
      rssIdleMb,
      openSeconds,
      sampledAlive: alive.reduce<number>((a, b) => a + b, 0),
      sampled: sample.length,
      upstreamConnections,
      openFileLimit: limit,
    };
  } catch (error) {
    const tail = pgveil.logTail();
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}${tail ? `\npgveil's log ends:\n${tail}` : ''}`,
      { cause: error },
    );
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await pgveil.stop();
  }
}
