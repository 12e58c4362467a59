/**
 * The last 24 hours as the files remember them, read once at start so that a restart does not
 * empty the catalog: statement and refusal counts from the audit log (the current file and the
 * rotated ones, newest first) and events from a file event sink. Only the tail of each file is
 * read, at most `maxBytes` in all. Masked reads per tag are not rebuilt: their tags need the
 * upstream catalog, which is not loaded yet at start.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { rotatedFiles } from '../audit';
import type { SecurityEvent } from '../audit';
import { WINDOW_MS, type CatalogActivity } from './activity';

const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/** The complete lines of the last `budget` bytes of a file, oldest first. */
function tailLines(path: string, budget: number): { readonly lines: string[]; readonly bytes: number } {
  if (!existsSync(path) || budget <= 0) return { lines: [], bytes: 0 };
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, budget);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    // A read that starts inside the file starts inside a line: that line is not whole.
    if (length < size) lines.shift();
    return { lines: lines.filter((l) => l.length > 0), bytes: length };
  } finally {
    closeSync(fd);
  }
}

export function backfillStatements(
  activity: CatalogActivity,
  auditFile: string,
  now = Date.now(),
  maxBytes = DEFAULT_MAX_BYTES,
): number {
  let budget = maxBytes;
  let counted = 0;
  for (const file of [auditFile, ...rotatedFiles(auditFile).reverse()]) {
    const { lines, bytes } = tailLines(file, budget);
    budget -= bytes;
    let older = false;
    for (const line of lines) {
      let record: { time?: unknown; dataProduct?: unknown; decision?: unknown };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        continue;
      }
      const at = typeof record.time === 'string' ? Date.parse(record.time) : NaN;
      if (Number.isNaN(at) || typeof record.dataProduct !== 'string') continue;
      if (at < now - WINDOW_MS) {
        older = true;
        continue;
      }
      activity.countStatement(record.dataProduct, at, record.decision === 'refused');
      counted++;
    }
    // This file reaches back past the window: older files cannot hold anything within it.
    if (older || budget <= 0) break;
  }
  return counted;
}

export function backfillEvents(
  activity: CatalogActivity,
  eventsFile: string,
  now = Date.now(),
  maxBytes = DEFAULT_MAX_BYTES,
): number {
  let kept = 0;
  for (const line of tailLines(eventsFile, maxBytes).lines) {
    try {
      const {
        class_uid: _uid,
        class_name: _name,
        ...event
      } = JSON.parse(line) as SecurityEvent & { class_uid?: number; class_name?: string };
      if (typeof event.time !== 'string' || typeof event.kind !== 'string' || Date.parse(event.time) < now - WINDOW_MS)
        continue;
      activity.event({
        ...event,
        actor: event.actor ?? { user: null, session: '', client: '' },
        reasons: event.reasons ?? [],
      });
      kept++;
    } catch {
      // A line cut by a crash or written by another tool: skipped.
    }
  }
  return kept;
}
