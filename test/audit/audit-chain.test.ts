/**
 * Tamper evidence: every line is the RFC 8785 form of its record and is hashed whole, so an edited,
 * added or removed field, a duplicated key, a removed, inserted or reordered record and a record
 * cut mid-line are each found and located.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalize } from 'json-canonicalize';
import { AuditLog, GENESIS, verifyAuditFiles } from '../../audit';

let dir: string;
let file: string;
let lines: string[];
const secret = Buffer.from('chain-secret');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgveil-audit-'));
  file = join(dir, 'audit.jsonl');
  const log = new AuditLog(file, secret);
  for (let i = 1; i <= 5; i++)
    log.append({
      user: 'analyst',
      statement: `SELECT ${i}`,
      rows: i,
      decision: 'allowed',
      principal: { attributes: { region: 'EU' } },
    });
  log.close();
  // The chain continues across a restart: a new writer picks up the last number and hash.
  const reopened = new AuditLog(file, secret);
  reopened.append({
    user: 'analyst',
    statement: 'SELECT 6',
    rows: 6,
    decision: 'allowed',
    principal: { attributes: { region: 'EU' } },
  });
  reopened.close();
  lines = readFileSync(file, 'utf8').trim().split('\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const check = (content: string[], trailingNewline = true) => {
  const path = join(dir, 'tampered.jsonl');
  writeFileSync(path, content.join('\n') + (trailingNewline ? '\n' : ''));
  return verifyAuditFiles([path], secret);
};
const withLine = (index: number, line: string): string[] => lines.map((l, i) => (i === index ? line : l));
const parsed = (index: number): Record<string, unknown> => JSON.parse(lines[index]!) as Record<string, unknown>;

test('an untouched log verifies, across a restart of the writer', () => {
  expect(verifyAuditFiles([file], secret)).toEqual({ ok: true, records: 6, lastHash: parsed(5).hash });
});

test('every line is the canonical form of its record, numbered and linked to the one before', () => {
  lines.forEach((line) => expect(canonicalize(JSON.parse(line))).toBe(line));
  expect(lines.map((_, i) => parsed(i).number)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(parsed(0).prev).toBe(GENESIS);
  expect(parsed(3).prev).toBe(parsed(2).hash);
  expect(lines[2]).toMatch(
    /^\{"decision":"allowed","hash":"[0-9a-f]{64}","number":3,"prev":"[0-9a-f]{64}","principal":\{"attributes":\{"region":"EU"\}\},"rows":3,"statement":"SELECT 3","user":"analyst"\}$/,
  );
});

test('the chain is keyed: without the secret it does not verify', () => {
  expect(verifyAuditFiles([file], undefined)).toMatchObject({
    ok: false,
    records: 0,
    problem: expect.stringMatching(/:1: record was edited/),
  });
});

test('an edited field is named', () => {
  expect(check(withLine(2, lines[2]!.replace('"rows":3', '"rows":33')))).toMatchObject({
    ok: false,
    records: 2,
    problem: expect.stringMatching(/tampered\.jsonl:3: record was edited: a field was changed, added or removed$/),
  });
});

test('an edited field nested in the principal is named', () => {
  expect(check(withLine(2, lines[2]!.replace('"region":"EU"', '"region":"US"')))).toMatchObject({
    ok: false,
    records: 2,
    problem: expect.stringMatching(/:3: record was edited/),
  });
});

test('an added field, in its canonical place, is named', () => {
  const added = canonicalize({ ...parsed(2), error: null });
  expect(added).not.toBe(lines[2]);
  expect(check(withLine(2, added))).toMatchObject({
    ok: false,
    records: 2,
    problem: expect.stringMatching(/:3: record was edited/),
  });
});

test('a field appended after the hash is named (on the previous format it verified)', () => {
  // The attack of issue 13: the old chain did not cover what follows "hash". Appended out of
  // order the line is not canonical; appended where it sorts, the hash no longer matches.
  expect(check(withLine(2, `${lines[2]!.slice(0, -1)},"approved":true}`))).toMatchObject({
    ok: false,
    records: 2,
    problem: expect.stringMatching(
      /:3: not in canonical form: a duplicated key, or a field written other than by pgveil$/,
    ),
  });
  expect(check(withLine(2, `${lines[2]!.slice(0, -1)},"zone":"forged"}`))).toMatchObject({
    ok: false,
    records: 2,
    problem: expect.stringMatching(/:3: record was edited/),
  });
});

test('a removed field is named', () => {
  expect(check(withLine(2, lines[2]!.replace('"rows":3,', '')))).toMatchObject({
    ok: false,
    records: 2,
    problem: expect.stringMatching(/:3: record was edited/),
  });
});

test('a duplicated key is named, whichever of the two a JSON reader keeps', () => {
  // JSON.parse keeps the last: the forged statement and decision are what a reader would see.
  const forged = `${lines[2]!.slice(0, -1)},"statement":"select 1","decision":"refused"}`;
  expect((JSON.parse(forged) as { statement: string }).statement).toBe('select 1');
  expect(check(withLine(2, forged))).toMatchObject({
    ok: false,
    records: 2,
    problem: expect.stringMatching(
      /tampered\.jsonl:3: not in canonical form: a duplicated key, or a field written other than by pgveil$/,
    ),
  });
  // The same key twice in a nested object.
  const nested = lines[2]!.replace('"region":"EU"', '"region":"EU","region":"US"');
  expect(check(withLine(2, nested))).toMatchObject({
    ok: false,
    records: 2,
    problem: expect.stringMatching(/:3: not in canonical form/),
  });
});

test('a removed record is named', () => {
  expect(check([...lines.slice(0, 3), ...lines.slice(4)])).toMatchObject({
    ok: false,
    records: 3,
    problem: expect.stringMatching(/:4: chain broken/),
  });
});

test('an inserted record is named, a copy or a forgery', () => {
  expect(check([...lines.slice(0, 2), lines[1]!, ...lines.slice(2)])).toMatchObject({
    ok: false,
    records: 2,
    problem: expect.stringMatching(/:3: chain broken/),
  });
  // Well placed (number and prev right) but without the key its hash cannot be right.
  const forged = canonicalize({ ...parsed(2), statement: 'SELECT 99', hash: 'f'.repeat(64) });
  expect(check([...lines.slice(0, 2), forged, ...lines.slice(2)])).toMatchObject({
    ok: false,
    records: 2,
    problem: expect.stringMatching(/:3: record was edited/),
  });
});

test('reordered records are named', () => {
  expect(check([lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)])).toMatchObject({
    ok: false,
    records: 1,
    problem: expect.stringMatching(/:2: chain broken/),
  });
});

test('a record cut mid-line is named: at the end of the file, or followed by others', () => {
  expect(check(withLine(5, lines[5]!.slice(0, 40)), false)).toMatchObject({
    ok: false,
    records: 5,
    problem: expect.stringMatching(/tampered\.jsonl:6: record cut mid-line \(no final newline\)/),
  });
  expect(check(withLine(2, lines[2]!.slice(0, 60)))).toMatchObject({
    ok: false,
    records: 2,
    problem: expect.stringMatching(/:3: not a JSON record/),
  });
  expect(check(withLine(5, lines[5]!.slice(0, 60)))).toMatchObject({
    ok: false,
    records: 5,
    problem: expect.stringMatching(/:6: not a JSON record/),
  });
});

test('a record built out of canonical order is refused by the verifier, so a writer bug cannot hide', () => {
  const path = join(dir, 'misordered.jsonl');
  const log = new AuditLog(path, secret);
  log.appendCanonical('{"zeta":1,"alpha":2,', (chain) => `"number":${chain.number},"prev":"${chain.prev}"}`);
  log.close();
  expect(verifyAuditFiles([path], secret)).toMatchObject({
    ok: false,
    records: 0,
    problem: expect.stringMatching(/:1: not in canonical form/),
  });
});

test('a record may not bring its own chain fields', () => {
  const log = new AuditLog(join(dir, 'own-fields.jsonl'), secret);
  expect(() => log.append({ hash: 'x' })).toThrow('an audit record may not carry its own "hash"');
  log.close();
});

test('an unwritable audit file makes the log refuse further statements', () => {
  const log = new AuditLog(join(dir, 'no-such-dir-\0', 'audit.jsonl'), undefined);
  expect(log.writable).toBe(false);
});

test('a log in the format before canonical records is not continued, and says why', () => {
  const path = join(dir, 'legacy.jsonl');
  writeFileSync(path, `${JSON.stringify({ user: 'analyst', prev: GENESIS, hash: 'a'.repeat(64) })}\n`);
  const log = new AuditLog(path, secret);
  expect(log.writable).toBe(false);
  expect(log.failure).toBe(
    `the last record of ${path} has no "hash" or no "number": written before audit records were canonical (move the log away and verify it with the release that wrote it), or not an audit log`,
  );
});
