/** What policy authors get: precise load errors, domain floors, lint, their own tests, the access matrix. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFiles } from '../../policies';
import { lintPolicies } from '../../policies/policy-lint';
import { startStack, type Stack } from '../support/pgveil-stack';

const CLI = join(__dirname, '../../dist/cli/pgveil.js');
const run = promisify(execFile);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgveil-authoring-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test('an invalid file fails with the file, the line, the key and what was expected', () => {
  const path = write('bad.yaml', 'globalPolicies:\n  - id: ok\n    columns:\n      - tags: [pii]\n        action: { kind: sparkle }\n');
  expect(() => loadPolicyFiles([path])).toThrow(`${path}:5: globalPolicies.0.columns.0.action.kind: must be equal to one of the allowed values: allow, mask_email, hash, null, deny`);
  const typo = write('typo.yaml', 'globalPolicys: []\n');
  expect(() => loadPolicyFiles([typo])).toThrow(`${typo}:1: (top level): must NOT have additional properties "globalPolicys"`);
});

test('a domain policy that would loosen a global one is a load error naming both rules', () => {
  const path = write('loosen.yaml', [
    'dataProducts: [ { name: s, domain: sales, upstream: { host: h, port: 1, database: d, user: u } } ]',
    'globalPolicies: [ { id: g-pii, columns: [ { tags: [pii], action: { kind: hash } } ] } ]',
    'domainPolicies: [ { id: d-open-email, domain: sales, columns: [ { tags: [pii.email], action: { kind: allow } } ] } ]',
    '',
  ].join('\n'));
  expect(() => loadPolicyFiles([path])).toThrow('domain policy "d-open-email" allows columns that global policy "g-pii" restricts: a domain policy may only add restrictions');
});

test('duplicate rule ids and unknown domains are refused', () => {
  const dup = write('dup.yaml', 'globalPolicies: [ { id: a }, { id: a } ]\n');
  expect(() => loadPolicyFiles([dup])).toThrow('rule id "a" is declared more than once');
  const orphan = write('orphan.yaml', 'domainPolicies: [ { id: x, domain: nowhere } ]\n');
  expect(() => loadPolicyFiles([orphan])).toThrow('domain policy "x" names domain "nowhere", which no data product declares');
});

test('lint finds conflicts, shadowed rules and unused tags', () => {
  const path = write('lint.yaml', [
    'globalPolicies:',
    '  - { id: always-null, columns: [ { tags: [pii], action: { kind: "null" } } ] }',
    '  - { id: mask-email, columns: [ { tags: [pii.email], action: { kind: mask_email } } ] }',
    '  - { id: maybe-hash, when: { group: g }, columns: [ { tags: [finance], action: { kind: hash } } ] }',
    '  - { id: card-mask, columns: [ { tags: [finance.card], action: { kind: mask, keepFirst: 0, keepLast: 4 } } ] }',
    '',
  ].join('\n'));
  const findings = lintPolicies(loadPolicyFiles([path]), new Set(['pii.email', 'finance.card']));
  expect(findings).toEqual([
    { kind: 'shadowed', message: 'rule "mask-email" (mask_email on pii.email) never applies: rule "always-null" always nulls pii' },
    { kind: 'conflict', message: 'rules "maybe-hash" (hash on finance) and "card-mask" (mask on finance.card) overlap: where both apply, hash wins' },
  ]);
  expect(lintPolicies(loadPolicyFiles([path]), new Set(['pii.email']))).toContainEqual({ kind: 'unused_tag', message: 'tag "finance" is named by a rule but no known column carries it' });
});

test('pgveil policy test runs an author\'s cases and fails on a wrong expectation', async () => {
  const ok = await run('node', [CLI, 'policy', 'test', join(__dirname, 'cases/governance.test-cases.yaml')]);
  expect(ok.stdout).toContain('2 passed, 0 failed');
  const wrong = write('wrong-cases.yaml', [
    `policies: [${join(__dirname, 'cases/governance.yaml')}]`,
    'relations: { "sales:public.customers": { email: "pgveil:tags=pii.email" } }',
    'cases: [ { name: too optimistic, principal: { user: a, groups: [analysts], attributes: { region: EU } }, relation: "sales:public.customers", expect: { columns: { email: allow }, rows: all } } ]',
    '',
  ].join('\n'));
  await expect(run('node', [CLI, 'policy', 'test', wrong])).rejects.toMatchObject({
    code: 1,
    stdout: expect.stringContaining('FAIL too optimistic\n     column email: expected allow, got mask\n     rows: expected all, got filtered\n0 passed, 1 failed'),
  });
});

describe('access matrix over a live data product', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('matrix');
  });
  afterAll(() => stack.stop());

  test('as a table and as JSON', async () => {
    const config = join(stack.dir, 'pgveil.yaml');
    const table = (await run('node', [CLI, 'access-matrix', '--config', config])).stdout;
    expect(table).toMatch(/^demo:public\.customers\.ssn\s+\| hash\s+\| allow$/m);
    expect(table).toMatch(/^demo:public\.customers \(rows\)\s+\| filtered\s+\| all$/m);
    const json = JSON.parse((await run('node', [CLI, 'access-matrix', '--config', config, '--json'])).stdout) as { profiles: string[]; rows: Array<{ column: string; actions: string[] }> };
    expect(json.profiles).toEqual(['analyst', 'steward']);
    expect(json.rows.find((r) => r.column === 'demo:public.orders.card_number')?.actions).toEqual(['mask', 'mask']);
  });
});
