/**
 * Writes one benchmark's section of bench/RESULTS.md in place (from its heading to the next
 * `## `), or appends it: the benchmarks that run on their own keep the rest of the file as it is.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RESULTS = join(__dirname, '..', '..', 'bench', 'RESULTS.md');

export function writeResultsSection(heading: string, lines: readonly string[]): void {
  const old = readFileSync(RESULTS, 'utf8');
  const start = old.indexOf(heading);
  const end = start < 0 ? -1 : old.indexOf('\n## ', start + heading.length);
  const section = lines.join('\n');
  const next =
    start < 0
      ? `${old.trimEnd()}\n\n${section}`
      : `${old.slice(0, start)}${section}${end < 0 ? '' : `\n${old.slice(end + 1)}`}`;
  writeFileSync(RESULTS, next.endsWith('\n') ? next : `${next}\n`);
}
