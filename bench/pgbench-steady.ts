/**
 * A pgbench run whose proxy CPU is counted from the moment every client is connected. pgbench's
 * tps leaves out the initial connection time (its threads start together once all are connected),
 * but a proxy's CPU over the whole run would include authenticating every client and, unpooled,
 * opening each one's upstream connection: with 200 clients that is a large share of a short run.
 * pgbench's -T window includes connecting, so a run that connects slowly may complete nothing.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpuSeconds, parsePgbench, pgbenchArgs } from './run-all';

/** Connections accepted on `port` of 127.0.0.1 and established (/proc/net/tcp, state 01). */
function establishedOn(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[3] === '01') n++;
  }
  return n;
}

export interface SteadyRun {
  /** NaN when no transaction completed (connecting took the whole -T window). */
  readonly tps: number;
  readonly transactions: number;
  /** The whole run, connecting included. */
  readonly wallMs: number;
  /** pgbench's initial connection time: part of its -T window, left out of its tps. */
  readonly connectMs: number;
  /** CPU seconds of `pid` from all clients connected to pgbench's end; undefined without a pid. */
  readonly cpuSeconds: number | undefined;
}

export async function pgbenchSteady(
  target: { port: number; user: string; password?: string; pid?: number },
  mode: string,
  seconds: number,
  clients: number,
): Promise<SteadyRun> {
  const child = spawn('pgbench', pgbenchArgs(target.port, mode, target.user, undefined, seconds, clients), {
    env: { ...process.env, ...(target.password ? { PGPASSWORD: target.password } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = Date.now();
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const { pid } = target;
  let cpuConnected: number | undefined;
  // Polled only until every client is in: the last one's authentication is all it may miss.
  const poll = pid
    ? setInterval(() => {
        if (establishedOn(target.port) >= clients) {
          cpuConnected = cpuSeconds(pid);
          clearInterval(poll);
        }
      }, 10)
    : undefined;
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearInterval(poll);
  const cpuEnd = pid ? cpuSeconds(pid) : undefined;
  if (code !== 0) throw Object.assign(new Error(`pgbench exited with ${code}`), { stderr: err || out });
  const completed = /number of transactions actually processed: [1-9]/.test(out);
  const { tps, transactions } = completed ? parsePgbench(out) : { tps: Number.NaN, transactions: 0 };
  return {
    tps,
    transactions,
    wallMs: Date.now() - started,
    connectMs: Number(/initial connection time = ([\d.]+) ms/.exec(out)?.[1] ?? Number.NaN),
    cpuSeconds: cpuEnd !== undefined && cpuConnected !== undefined ? cpuEnd - cpuConnected : undefined,
  };
}
