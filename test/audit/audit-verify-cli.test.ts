/**
 * `pgveil audit verify` as an auditor runs it (the built `dist/cli/pgveil.js`; npm test builds
 * first), one test per tamper of issue 13: what it prints and its exit code. The chain alone finds
 * an edited, added or removed field, a duplicated key, a removed, inserted or reordered record and a
 * record cut mid-line; with the checkpoints delivered outside the file (`--checkpoints` events file,
 * or `--checkpoint` JSON as kept in Redis) it also finds records cut from the end and an emptied or
 * replaced file. Each of these verified as intact before records were canonical and anchored.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalize } from 'json-canonicalize';
import { AuditLog, startCheckpoints, type AuditCheckpoint, type SecurityEvent } from '../../audit';

const CLI = join(__dirname, '../../dist/cli/pgveil.js');
const KEY_ENV = 'PGVEIL_TEST_VERIFY_CLI_KEY';
const KEY = 'the-audit-key-of-verify-cli';

interface Run {
  readonly code: number;
  readonly stdout: string;
}

/** Runs `pgveil audit verify --secret-env KEY_ENV ...args` and returns its exit code and output. */
function verify(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'node',
      [CLI, 'audit', 'verify', '--secret-env', KEY_ENV, ...args],
      { env: { ...process.env, [KEY_ENV]: KEY } },
      (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout }),
    );
  });
}

let dir: string;
let original: string;
let lines: string[];
let events: SecurityEvent[];
let eventsFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgveil-verify-cli-'));
  original = join(dir, 'audit.jsonl');
  events = [];
  const log = new AuditLog(original, Buffer.from(KEY));
  const checkpoints = startCheckpoints({
    log,
    name: 'verify-cli',
    secret: Buffer.from(KEY),
    intervalMs: 3_600_000,
    emit: (e) => events.push(e),
  });
  for (let i = 1; i <= 5; i++)
    log.append({
      user: 'analyst',
      statement: `SELECT email FROM customers WHERE id = ${i}`,
      decision: 'rewritten',
      rows: i,
      principal: { attributes: { region: 'EU' }, grants: [] },
    });
  void checkpoints.stop();
  log.close();
  lines = readFileSync(original, 'utf8').trim().split('\n');
  eventsFile = join(dir, 'events.jsonl');
  writeFileSync(eventsFile, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The log with `content` as its lines, written to a file of its own. */
function tampered(name: string, content: readonly string[], finalNewline = true): string {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, content.join('\n') + (finalNewline ? '\n' : ''));
  return path;
}
const withLine = (index: number, line: string): string[] => lines.map((l, i) => (i === index ? line : l));
const record = (index: number): Record<string, unknown> => JSON.parse(lines[index]!) as Record<string, unknown>;
const hashOf = (index: number): string => record(index).hash as string;

const EDITED = 'record was edited: a field was changed, added or removed';
const NOT_CANONICAL = 'not in canonical form: a duplicated key, or a field written other than by pgveil';
const CHAIN_BROKEN = 'chain broken: a record before it was removed, inserted or reordered';

test('the untouched log verifies', async () => {
  expect(await verify(original)).toEqual({
    code: 0,
    stdout: `ok: 5 records, chain intact, last hash ${hashOf(4)}\n`,
  });
});

describe('the chain alone', () => {
  const cases: ReadonlyArray<readonly [string, () => string[], number, string]> = [
    ['an edited field', () => withLine(2, lines[2]!.replace('"rows":3', '"rows":0')), 3, EDITED],
    ['an edited nested field', () => withLine(2, lines[2]!.replace('"region":"EU"', '"region":"US"')), 3, EDITED],
    [
      'an added field in its canonical place',
      () => withLine(2, canonicalize({ ...record(2), error: null })),
      3,
      EDITED,
    ],
    // The attack the issue opens with: members appended after "hash", which JSON readers let win.
    [
      'fields appended after the hash',
      () => withLine(2, `${lines[2]!.slice(0, -1)},"statement":"select 1","decision":"allowed"}`),
      3,
      NOT_CANONICAL,
    ],
    ['a removed field', () => withLine(2, lines[2]!.replace('"rows":3,', '')), 3, EDITED],
    [
      'a duplicated key',
      () => withLine(2, lines[2]!.replace('"decision":"rewritten"', '"decision":"rewritten","decision":"allowed"')),
      3,
      NOT_CANONICAL,
    ],
    ['a removed record', () => [...lines.slice(0, 2), ...lines.slice(3)], 3, CHAIN_BROKEN],
    ['an inserted copy of a record', () => [...lines.slice(0, 2), lines[1]!, ...lines.slice(2)], 3, CHAIN_BROKEN],
    [
      'an inserted forged record, numbered and linked right',
      () => [
        ...lines.slice(0, 2),
        canonicalize({ ...record(2), statement: 'SELECT 99', hash: 'f'.repeat(64) }),
        ...lines.slice(2),
      ],
      3,
      EDITED,
    ],
    ['reordered records', () => [lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)], 2, CHAIN_BROKEN],
    [
      'a record cut mid-line, followed by others',
      () => withLine(2, lines[2]!.slice(0, 70)),
      3,
      'not a JSON record (cut mid-line, or not written by pgveil)',
    ],
  ];

  test.each(cases)('finds %s and names its line', async (name, content, line, why) => {
    const path = tampered(name.replace(/\W+/g, '-'), content());
    // Before the chain was over canonical records, each of these verified as intact.
    expect(await verify(path)).toEqual({
      code: 1,
      stdout: `tampered: ${path}:${line}: ${why} (after ${line - 1} good records)\n`,
    });
  });

  test('finds the last record cut mid-line', async () => {
    const path = tampered('cut-last', withLine(4, lines[4]!.slice(0, 70)), false);
    expect(await verify(path)).toEqual({
      code: 1,
      stdout: `tampered: ${path}:5: record cut mid-line (no final newline) (after 4 good records)\n`,
    });
  });

  test('records cut from the end, or the file emptied, still verify as a chain: that is what checkpoints are for', async () => {
    const cut = tampered('cut-end-alone', lines.slice(0, 3));
    expect(await verify(cut)).toEqual({ code: 0, stdout: `ok: 3 records, chain intact, last hash ${hashOf(2)}\n` });
    const emptied = tampered('emptied-alone', [], false);
    expect(await verify(emptied)).toEqual({ code: 0, stdout: 'ok: 0 records, chain intact\n' });
  });
});

describe('with the checkpoints delivered outside the file', () => {
  const shutdown = (): AuditCheckpoint =>
    events.find((e) => e.kind === 'audit_checkpoint' && e.reasons[0] === 'shutdown')!.checkpoint!;

  test('the untouched log matches its checkpoints', async () => {
    expect(await verify('--checkpoints', eventsFile, original)).toEqual({
      code: 0,
      stdout: `ok: 5 records, chain intact, last hash ${hashOf(4)}; 2 checkpoints matched, the latest: shutdown checkpoint of ${shutdown().time}, at record 5\n`,
    });
  });

  test('finds records cut from the end', async () => {
    const path = tampered('cut-end', lines.slice(0, 3));
    expect(await verify('--checkpoints', eventsFile, path)).toEqual({
      code: 1,
      stdout: `tampered: the shutdown checkpoint of ${shutdown().time} counts 5 records but the log has 3: records were cut from its end, or it was emptied or replaced (after 3 good records)\n`,
    });
  });

  test('finds an emptied file', async () => {
    const path = tampered('emptied', [], false);
    expect(await verify('--checkpoints', eventsFile, path)).toEqual({
      code: 1,
      stdout: `tampered: the shutdown checkpoint of ${shutdown().time} counts 5 records but the log has 0: records were cut from its end, or it was emptied or replaced (after 0 good records)\n`,
    });
  });

  test('finds a file replaced by another valid chain, written with the audit key', async () => {
    const forged = join(dir, 'forged-source.jsonl');
    const log = new AuditLog(forged, Buffer.from(KEY));
    // The same records but one: record 4 says no rows came back.
    for (let i = 0; i < 5; i++) {
      const { hash: _hash, number: _number, prev: _prev, ...body } = record(i);
      log.append(i === 3 ? { ...body, rows: 0 } : body);
    }
    log.close();
    const rebuilt = readFileSync(forged, 'utf8').trim().split('\n');
    const path = tampered('replaced', rebuilt);
    expect(await verify(path)).toMatchObject({ code: 0 });
    expect(await verify('--checkpoints', eventsFile, path)).toEqual({
      code: 1,
      stdout: `tampered: ${path}:5: record 5 does not match the shutdown checkpoint of ${shutdown().time}: the log was replaced or rewritten (after 5 good records)\n`,
    });
  });

  test('one checkpoint given as JSON (as read from the Redis stream) finds a cut tail', async () => {
    const path = tampered('cut-end-json', lines.slice(0, 4));
    expect(await verify('--checkpoint', JSON.stringify(shutdown()), path)).toEqual({
      code: 1,
      stdout: `tampered: the shutdown checkpoint of ${shutdown().time} counts 5 records but the log has 4: records were cut from its end, or it was emptied or replaced (after 4 good records)\n`,
    });
  });

  test('a checkpoint forged to match the cut log is refused, not skipped', async () => {
    const path = tampered('cut-end-forged', lines.slice(0, 3));
    const forged = { ...shutdown(), records: 3, head: hashOf(2) };
    expect(await verify('--checkpoint', JSON.stringify(forged), path)).toEqual({
      code: 1,
      stdout: `tampered: shutdown checkpoint of ${shutdown().time}: its signature does not match the audit key: forged\n`,
    });
  });
});
