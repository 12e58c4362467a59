/**
 * What the two profile benches (bench:profile, V8's samples; bench:perf, perf's) share: the bench
 * database, pgveil and the Node.js relay as the commands they profile, the pgbench modes, and the
 * file each leaves beside bench/RESULTS.md for `npm run bench` to carry over.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DB, setUp, writeProxyConfig } from './run-all';

export const SECONDS = Number(process.env.PGVEIL_BENCH_SECONDS ?? 10);
export const PROXY_PORT = 6632;
export const RELAY_PORT = 6638;
export const MODES = ['simple', 'extended', 'prepared'] as const;

export interface Profiled {
  /** A scratch directory for the run's files. */
  readonly dir: string;
  /** `node` arguments that start pgveil on PROXY_PORT, and the relay on RELAY_PORT. */
  readonly pgveil: readonly string[];
  readonly relay: readonly string[];
}

/** Sets up, runs `lines` (the section's markdown), prints it and keeps it in bench/`file`; always cleans up. */
export async function profileBench(file: string, lines: (profiled: Profiled) => Promise<string[]>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-profile-'));
  try {
    await setUp(dir);
    const out = await lines({
      dir,
      pgveil: [join(__dirname, '..', 'cli', 'pgveil.js'), 'serve', '--config', writeProxyConfig(dir)],
      relay: [join(__dirname, 'node-relay.js'), String(RELAY_PORT), '5432'],
    });
    process.stdout.write(`${out.join('\n')}\n`);
    writeFileSync(
      join(__dirname, '..', '..', 'bench', file),
      `${out.join('\n').replace(/^## /, `## (${new Date().toISOString()}) `)}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const c = new Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await c.end();
  }
}

export function runProfileBench(what: string, bench: () => Promise<void>): void {
  bench().catch((error: unknown) => {
    process.stderr.write(`${what} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}

interface ProfiledRun {
  readonly cpuUs: number;
  readonly tps: number;
}

/** A mode's heading: pgveil's CPU per statement beside the relay's. */
export function modeHeading(mode: string, veil: ProfiledRun, floor: ProfiledRun): string {
  return `### ${mode}: pgveil ${veil.cpuUs.toFixed(1)} µs of CPU per statement (${veil.tps.toFixed(0)} tps), the Node.js relay ${floor.cpuUs.toFixed(1)} µs (${floor.tps.toFixed(0)} tps): ${(veil.cpuUs / floor.cpuUs).toFixed(2)}x`;
}

/** One table row per place either process spent time in, pgveil's largest first; under 0.1 µs left out. */
export function sideBySide(
  veil: ReadonlyMap<string, number>,
  floor: ReadonlyMap<string, number>,
  row: (place: string, pgveilUs: number, relayUs: number) => string,
): string[] {
  const places = [...new Set([...veil.keys(), ...floor.keys()])].sort(
    (a, b) => (veil.get(b) ?? 0) - (veil.get(a) ?? 0),
  );
  const rows: string[] = [];
  for (const place of places) {
    const v = veil.get(place) ?? 0;
    const f = floor.get(place) ?? 0;
    if (v >= 0.1 || f >= 0.1) rows.push(row(place, v, f));
  }
  return rows;
}
