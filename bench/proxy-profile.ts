/**
 * `npm run bench:profile`: where each microsecond of the proxy's CPU goes, per statement, from a V8
 * CPU profile of the running pgveil under pgbench -S (8 clients), one run per protocol mode, beside
 * the Node.js byte relay profiled the same way. Only samples taken while pgbench ran count. Each
 * sample is charged to the nearest pgveil source file on its stack (a call into node:net from the
 * relay code is the relay's), or to the runtime when no pgveil frame is on it (socket reads, the
 * event loop, timers), or to the garbage collector.
 *
 *   PGVEIL_BENCH_SECONDS=10 npm run bench:profile
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, pgbench, waitForPort, WARMUP_SECONDS } from './run-all';
import {
  modeHeading,
  MODES,
  profileBench,
  PROXY_PORT,
  RELAY_PORT,
  runProfileBench,
  SECONDS,
  sideBySide,
} from './profile-bench';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: number[];
}
interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly startTime: number;
  readonly samples: number[];
  readonly timeDeltas: number[];
}

const NATIVE_WRITES = new Set([
  'writeBuffer',
  'writev',
  'writeString',
  'writeUtf8String',
  'writeLatin1String',
  'writeAsciiString',
]);

/** The category a stack is charged to: the nearest pgveil file, else the runtime or the GC. */
function categorize(profile: CpuProfile): (id: number) => string {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const memo = new Map<number, string>();
  const own = (node: ProfileNode): string | undefined => {
    const m = /\/dist\/((?:proxy|rewriter|policies|audit|ops|cli|gate|ports|bench)\/.*)\.js$/.exec(node.callFrame.url);
    return m?.[1];
  };
  return (id) => {
    const cached = memo.get(id);
    if (cached) return cached;
    const leaf = byId.get(id)!;
    let category =
      leaf.callFrame.functionName === '(garbage collector)'
        ? 'garbage collector'
        : leaf.callFrame.functionName === '(program)'
          ? 'V8 and native code outside JavaScript ((program))'
          : undefined;
    let nearest: string | undefined;
    for (let at: number | undefined = id; nearest === undefined && at !== undefined; at = parent.get(at))
      nearest = own(byId.get(at)!);
    // A write's system call is charged as such, whoever made it: the relay makes the same socket writes.
    if (!category && NATIVE_WRITES.has(leaf.callFrame.functionName))
      category = nearest?.startsWith('audit/')
        ? 'audit: the record written to the file (system call)'
        : 'socket writes (system calls)';
    category ??= nearest;
    category ??= leaf.callFrame.url.includes('node_modules/')
      ? `library: ${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(leaf.callFrame.url)![1]}`
      : 'runtime: socket reads, event loop, timers';
    memo.set(id, category);
    return category;
  };
}

/** Microseconds per statement by category, over the samples taken between `from` and `to` (µs, monotonic). */
function breakdown(profile: CpuProfile, from: number, to: number, statements: number): Map<string, number> {
  const charge = categorize(profile);
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const totals = new Map<string, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    const id = profile.samples[i]!;
    if (t < from || t > to || idle.has(id)) continue;
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const category = charge(id);
    totals.set(category, (totals.get(category) ?? 0) + delta);
  }
  for (const [k, v] of totals) totals.set(k, v / statements);
  return totals;
}

/** Runs one pgbench mode against a profiled process; returns the breakdown and the measured CPU. */
async function profileRun(
  command: readonly string[],
  port: number,
  user: string,
  password: string | undefined,
  mode: string,
  dir: string,
): Promise<{ rows: Map<string, number>; cpuUs: number; tps: number }> {
  const profDir = mkdtempSync(join(dir, 'prof-'));
  const child = spawn('node', ['--cpu-prof', `--cpu-prof-dir=${profDir}`, ...command], { stdio: 'ignore' });
  try {
    await waitForPort(port);
    // Warm-up: caches, the JIT and V8's compiling, upstream connections.
    pgbench(port, mode, user, password, undefined, WARMUP_SECONDS);
    const cpu0 = cpuSeconds(child.pid!);
    const from = Number(process.hrtime.bigint() / 1000n);
    const run = pgbench(port, mode, user, password, undefined, SECONDS);
    const to = Number(process.hrtime.bigint() / 1000n);
    const cpuUs = ((cpuSeconds(child.pid!) - cpu0) * 1e6) / run.transactions;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no CPU profile written by ${command.join(' ')}`);
    const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile;
    return { rows: breakdown(profile, from, to, run.transactions), cpuUs, tps: run.tps };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

function main(): Promise<void> {
  return profileBench('PROFILE.md', async ({ dir, pgveil, relay }) => {
    const out: string[] = [
      `## Where the proxy's CPU goes (V8 CPU profile during pgbench -S, 8 clients, ${SECONDS} s per mode; \`PGVEIL_BENCH_SECONDS=${SECONDS} npm run bench:profile\`)`,
      '',
    ];
    for (const mode of MODES) {
      const veil = await profileRun(pgveil, PROXY_PORT, 'analyst', 'analyst', mode, dir);
      const floor = await profileRun(relay, RELAY_PORT, 'postgres', undefined, mode, dir);
      const sampled = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
      out.push(
        modeHeading(mode, veil, floor),
        '',
        '| charged to | pgveil µs per statement | relay µs per statement |',
        '| --- | --- | --- |',
        ...sideBySide(
          veil.rows,
          floor.rows,
          (place, v, f) => `| ${place} | ${v.toFixed(1)} | ${f ? f.toFixed(1) : '-'} |`,
        ),
      );
      out.push(
        `| all samples (the rest of the process's CPU is kernel time in system calls, outside the profile) | ${sampled(veil.rows).toFixed(1)} | ${sampled(floor.rows).toFixed(1)} |`,
        '',
      );
    }
    return out;
  });
}

runProfileBench('profile', main);
