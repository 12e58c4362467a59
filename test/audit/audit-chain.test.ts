/** Tamper evidence: every edit, deletion, insertion, reordering or truncation is found and located. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, verifyAuditFiles } from '../../audit';

let dir: string;
let file: string;
let lines: string[];
const secret = Buffer.from('chain-secret');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgveil-audit-'));
  file = join(dir, 'audit.jsonl');
  const log = new AuditLog(file, secret);
  for (let i = 1; i <= 5; i++) log.append({ n: i, user: 'analyst', statement: `SELECT ${i}` });
  log.close();
  // The chain continues across a restart: a new writer picks up the last hash.
  const reopened = new AuditLog(file, secret);
  reopened.append({ n: 6, user: 'analyst', statement: 'SELECT 6' });
  reopened.close();
  lines = readFileSync(file, 'utf8').trim().split('\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const check = (content: string[], trailingNewline = true) => {
  const path = join(dir, 'tampered.jsonl');
  writeFileSync(path, content.join('\n') + (trailingNewline ? '\n' : ''));
  return verifyAuditFiles([path], secret);
};

test('an untouched log verifies, across a restart of the writer', () => {
  expect(verifyAuditFiles([file], secret)).toEqual({ ok: true, records: 6, lastHash: JSON.parse(lines[5]!).hash });
});

test('the chain is keyed: without the secret it does not verify', () => {
  expect(verifyAuditFiles([file], undefined).ok).toBe(false);
});

test('an edited record is named', () => {
  const edited = [...lines];
  edited[2] = edited[2]!.replace('SELECT 3', 'SELECT 33');
  expect(check(edited)).toMatchObject({ ok: false, records: 2, problem: expect.stringMatching(/tampered\.jsonl:3: record was edited/) });
});

test('a removed record is named', () => {
  expect(check([...lines.slice(0, 3), ...lines.slice(4)])).toMatchObject({ ok: false, records: 3, problem: expect.stringMatching(/:4: chain broken/) });
});

test('an inserted record is named', () => {
  const forged = JSON.stringify({ n: 99, prev: JSON.parse(lines[1]!).hash, hash: '0'.repeat(64) });
  expect(check([...lines.slice(0, 2), forged, ...lines.slice(2)])).toMatchObject({ ok: false, records: 2, problem: expect.stringMatching(/:3: record was edited/) });
});

test('reordered records are named', () => {
  expect(check([lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)])).toMatchObject({ ok: false, records: 1, problem: expect.stringMatching(/:2: chain broken/) });
});

test('a truncated last record is named', () => {
  const truncated = [...lines];
  truncated[5] = truncated[5]!.slice(0, 40);
  expect(check(truncated, false)).toMatchObject({ ok: false, problem: expect.stringMatching(/truncated record/) });
});

test('an unwritable audit file makes the log refuse further statements', () => {
  const log = new AuditLog(join(dir, 'no-such-dir-\0', 'audit.jsonl'), undefined);
  expect(log.writable).toBe(false);
});
