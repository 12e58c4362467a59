/**
 * `npm run bench:perf`: where the proxy's CPU goes, counted by the kernel rather than sampled by V8.
 * `perf record -e cpu-clock` samples a process only while it runs on a core, in the kernel as in
 * user space, so the time a write spends waking the peer is counted and the time the proxy waits
 * preempted is not (a V8 profile samples wall time and cannot tell the two apart). Each sample is
 * charged to where its instruction lies: the kernel, the Node.js binary (V8's interpreter, inline
 * caches and builtins, its compiler and garbage collector, Node's C++ bindings, libuv, OpenSSL),
 * code V8 compiled from JavaScript, or libc. pgveil and the Node.js byte relay, in turn, under
 * pgbench -S with 8 clients in each protocol mode.
 *
 *   PGVEIL_BENCH_SECONDS=8 npm run bench:perf      (needs Debian's linux-perf: `perf`)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
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

const HZ = 2000;

/** Where a sample's instruction lies, from perf's dso and symbol columns. */
function category(dso: string, symbol: string): string {
  if (dso.includes('kernel')) return 'kernel (system calls, TCP on loopback, scheduling)';
  if (dso.startsWith('[JIT]') || dso.startsWith('perf-')) return 'JavaScript compiled by V8';
  if (dso.startsWith('libc')) return 'libc (memcpy, system call wrappers)';
  if (dso !== 'node') return `other (${dso})`;
  if (/compiler::|Maglev|Turbofan|Compile|Parser|Scanner|Bytecode|interpreter::/.test(symbol))
    return 'node: V8 compiling JavaScript';
  if (/Scaveng|Heap|Mark|Sweep|Evacuat|Barrier|GC|Remembered/.test(symbol)) return 'node: V8 garbage collector';
  if (symbol.startsWith('Builtins_')) return 'node: V8 builtins (interpreter, inline caches, strings, buffers)';
  if (/^(node::|non-virtual thunk to node::)/.test(symbol)) return "node: Node's C++ bindings (streams, fs)";
  if (/^uv_|^uv__/.test(symbol)) return 'node: libuv (event loop)';
  if (/sha256|EVP_|OPENSSL|CRYPTO_/.test(symbol)) return 'node: OpenSSL (the audit chain hash)';
  return 'node: V8 runtime (object and string operations, API calls)';
}

/** Samples per category, from `perf report` of one recording. */
function breakdown(data: string): Map<string, number> {
  const out = execFileSync(
    'perf',
    ['report', '-i', data, '--stdio', '--no-children', '-g', 'none', '-n', '--sort', 'dso,sym'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const totals = new Map<string, number>();
  for (const line of out.split('\n')) {
    // "    3.33%           481  node               [.] v8::internal::String::WriteToFlat<unsigned char>"
    const m = /^\s+[\d.]+%\s+(\d+)\s+(\S+(?: tid \d+)?)\s+\[[.k]\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const key = category(m[2]!, m[3]!.trim());
    totals.set(key, (totals.get(key) ?? 0) + Number(m[1]));
  }
  return totals;
}

async function measure(
  command: readonly string[],
  port: number,
  user: string,
  password: string | undefined,
  mode: string,
  dir: string,
): Promise<{ usPerStatement: Map<string, number>; cpuUs: number; tps: number }> {
  const child: ChildProcess = spawn('node', ['--perf-basic-prof', ...command], { stdio: 'ignore' });
  try {
    await waitForPort(port);
    // Warm-up: caches, the JIT and V8's compiling, upstream connections.
    pgbench(port, mode, user, password, undefined, WARMUP_SECONDS);
    const data = join(dir, `${port}-${mode}.data`);
    const recorder = spawn(
      'perf',
      ['record', '-q', '-e', 'cpu-clock', '-F', String(HZ), '-p', String(child.pid), '-o', data],
      { stdio: 'ignore' },
    );
    const recorded = new Promise((resolve) => recorder.once('exit', resolve));
    await new Promise((r) => setTimeout(r, 300));
    const cpu0 = cpuSeconds(child.pid!);
    const run = pgbench(port, mode, user, password, undefined, SECONDS);
    const cpuUs = ((cpuSeconds(child.pid!) - cpu0) * 1e6) / run.transactions;
    recorder.kill('SIGINT');
    await recorded;
    const samples = breakdown(data);
    const all = [...samples.values()].reduce((a, b) => a + b, 0);
    // Charge the measured CPU (from /proc, over the pgbench run) in the proportions perf saw.
    const usPerStatement = new Map([...samples].map(([k, n]) => [k, (cpuUs * n) / all]));
    return { usPerStatement, cpuUs, tps: run.tps };
  } finally {
    child.kill('SIGKILL');
    // --perf-basic-prof's symbol map of the compiled JavaScript.
    rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
  }
}

function main(): Promise<void> {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
  } catch {
    return Promise.reject(new Error('perf is not installed (Debian: apt-get install linux-perf)'));
  }
  return profileBench('PERF.md', async ({ dir, pgveil, relay }) => {
    const out: string[] = [
      `## Where the proxy's CPU goes, counted by perf (cpu-clock samples at ${HZ} Hz of the running process, kernel included; pgbench -S, 8 clients, ${SECONDS} s per mode; \`PGVEIL_BENCH_SECONDS=${SECONDS} npm run bench:perf\`)`,
      '',
      "Microseconds of CPU per statement, the process's CPU time over the run (from /proc) charged in the proportions of perf's samples.",
      '',
    ];
    for (const mode of MODES) {
      const veil = await measure(pgveil, PROXY_PORT, 'analyst', 'analyst', mode, dir);
      const floor = await measure(relay, RELAY_PORT, 'postgres', undefined, mode, dir);
      out.push(
        modeHeading(mode, veil, floor),
        '',
        '| where | pgveil | relay | pgveil above the relay |',
        '| --- | --- | --- | --- |',
        ...sideBySide(
          veil.usPerStatement,
          floor.usPerStatement,
          (place, v, f) => `| ${place} | ${v.toFixed(1)} | ${f.toFixed(1)} | ${(v - f).toFixed(1)} |`,
        ),
      );
      out.push('');
    }
    return out;
  });
}

runProfileBench('perf profile', main);
