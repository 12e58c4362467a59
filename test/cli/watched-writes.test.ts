/**
 * A file pgveil appends to beside the policy files wakes the policy watcher at every write (one
 * wake-up and two reads per audited statement, seen with strace): pgveil says so at start.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { PolicyStore } from '../../policies';
import { warnOfWatchedWrites } from '../../cli/runtime/watched-writes';

function capture(): { log: pino.Logger; lines: Array<{ msg: string; file?: string; directory?: string }> } {
  const lines: Array<{ msg: string; file?: string; directory?: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string });
      done();
    },
  });
  return { log: pino({ level: 'warn' }, sink), lines };
}

const POLICY = 'tags: [pii]\nglobalPolicies:\n  - id: one\n    columns: [ { tags: [pii], action: { kind: hash } } ]\n';

test('the audit log and an events file beside the policy files are named; files elsewhere are not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-watched-'));
  mkdirSync(join(dir, 'config'));
  mkdirSync(join(dir, 'audit'));
  writeFileSync(join(dir, 'config', 'policies.yaml'), POLICY);
  // Reached through a link: the directory of what it points to is watched too.
  symlinkSync(join(dir, 'config', 'policies.yaml'), join(dir, 'policies.yaml'));
  const store = new PolicyStore({ paths: [join(dir, 'policies.yaml')], watch: true, checkMs: 0 });
  try {
    const { log, lines } = capture();
    warnOfWatchedWrites(
      store.watchedDirectories(),
      [join(dir, 'config', 'audit.jsonl'), join(dir, 'audit', 'audit.jsonl'), join(dir, 'events.jsonl')],
      log,
    );
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.file, l.directory])).toEqual([
      [join(dir, 'config', 'audit.jsonl'), join(dir, 'config')],
      [join(dir, 'events.jsonl'), dir],
    ]);
    expect(lines[0]!.msg).toContain('wakes the policy watcher');
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
