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
  const path = write(
    'bad.yaml',
    'globalPolicies:\n  - id: ok\n    columns:\n      - tags: [pii]\n        action: { kind: sparkle }\n',
  );
  expect(() => loadPolicyFiles([path])).toThrow(
    `${path}:5: globalPolicies.0.columns.0.action.kind: must be equal to one of the allowed values: allow, mask_email, hash, null, deny`,
  );
  const typo = write('typo.yaml', 'globalPolicys: []\n');
  expect(() => loadPolicyFiles([typo])).toThrow(
    `${typo}:1: (top level): must NOT have additional properties "globalPolicys"`,
  );
});

test('a domain policy that would loosen a global one is a load error naming both rules', () => {
  const path = write(
    'loosen.yaml',
    [
      'tags: [pii.email]',
      'dataProducts: [ { name: s, domain: sales, upstream: { host: h, port: 1, database: d, user: u } } ]',
      'globalPolicies: [ { id: g-pii, columns: [ { tags: [pii], action: { kind: hash } } ] } ]',
      'domainPolicies: [ { id: d-open-email, domain: sales, columns: [ { tags: [pii.email], action: { kind: allow } } ] } ]',
      '',
    ].join('\n'),
  );
  expect(() => loadPolicyFiles([path])).toThrow(
    'domain policy "d-open-email" allows columns that global policy "g-pii" restricts: a domain policy may only add restrictions',
  );
});

test('duplicate rule ids and unknown domains are refused', () => {
  const dup = write('dup.yaml', 'globalPolicies: [ { id: a }, { id: a } ]\n');
  expect(() => loadPolicyFiles([dup])).toThrow('rule id "a" is declared more than once');
  const orphan = write('orphan.yaml', 'domainPolicies: [ { id: x, domain: nowhere } ]\n');
  expect(() => loadPolicyFiles([orphan])).toThrow(
    'domain policy "x" names domain "nowhere", which no data product declares',
  );
});

test('lint finds conflicts, shadowed rules and unused tags', () => {
  const path = write(
    'lint.yaml',
    [
      'tags: [pii.email, finance.card]',
      'globalPolicies:',
      '  - { id: always-null, columns: [ { tags: [pii], action: { kind: "null" } } ] }',
      '  - { id: mask-email, columns: [ { tags: [pii.email], action: { kind: mask_email } } ] }',
      '  - { id: maybe-hash, when: { group: g }, columns: [ { tags: [finance], action: { kind: hash } } ] }',
      '  - { id: card-mask, columns: [ { tags: [finance.card], action: { kind: mask, keepFirst: 0, keepLast: 4 } } ] }',
      '',
    ].join('\n'),
  );
  const findings = lintPolicies(loadPolicyFiles([path]), new Set(['pii.email', 'finance.card']));
  expect(findings).toEqual([
    {
      kind: 'shadowed',
      message: 'rule "mask-email" (mask_email on pii.email) never applies: rule "always-null" always nulls pii',
    },
    {
      kind: 'conflict',
      message:
        'rules "maybe-hash" (hash on finance) and "card-mask" (mask on finance.card) overlap: where both apply, hash wins',
    },
  ]);
  expect(lintPolicies(loadPolicyFiles([path]), new Set(['pii.email']))).toContainEqual({
    kind: 'unused_tag',
    message: 'tag "finance" is named by a rule but no known column carries it',
  });
});

test("pgveil policy test runs an author's cases and fails on a wrong expectation", async () => {
  const ok = await run('node', [CLI, 'policy', 'test', join(__dirname, 'cases/governance.test-cases.yaml')]);
  expect(ok.stdout).toContain('2 passed, 0 failed');
  const wrong = write(
    'wrong-cases.yaml',
    [
      `policies: [${join(__dirname, 'cases/governance.yaml')}]`,
      'relations: { "sales:public.customers": { email: "pgveil:tags=pii.email" } }',
      'cases: [ { name: too optimistic, principal: { user: a, groups: [analysts], attributes: { region: EU } }, relation: "sales:public.customers", expect: { columns: { email: allow }, rows: all } } ]',
      '',
    ].join('\n'),
  );
  await expect(run('node', [CLI, 'policy', 'test', wrong])).rejects.toMatchObject({
    code: 1,
    stdout: expect.stringContaining(
      'FAIL too optimistic\n     column email: expected allow, got mask\n     rows: expected all, got filtered\n0 passed, 1 failed',
    ),
  });
});

describe('the tag taxonomy', () => {
  const product =
    'dataProducts: [ { name: s, domain: sales, upstream: { host: h, port: 1, database: d, user: u }, tables: { public.customers: { columns: { email: [pii.email] } } } } ]';

  test('a typo in a rule tag is a load error at its line, so it can never unmask', () => {
    const path = write(
      'rule-typo.yaml',
      [
        'tags: [pii.email]',
        product,
        'globalPolicies:',
        '  - id: g',
        '    columns:',
        '      - tags: [pii.emial]',
        '        action: { kind: mask_email }',
        '',
      ].join('\n'),
    );
    expect(() => loadPolicyFiles([path])).toThrow(
      `${path}:6: tag "pii.emial" in rule "g" is not declared in the tag taxonomy (a top-level "tags:" list)`,
    );
  });

  test('a typo in a column tag is a load error at its line', () => {
    const path = write(
      'column-typo.yaml',
      [
        'tags: [pii.email]',
        product.replace('[pii.email]', '[pii.emial]'),
        'globalPolicies: [ { id: g, columns: [ { tags: [pii], action: { kind: hash } } ] } ]',
        '',
      ].join('\n'),
    );
    expect(() => loadPolicyFiles([path])).toThrow(
      `${path}:2: tag "pii.emial" on column "public.customers.email" is not declared in the tag taxonomy`,
    );
  });

  test('the taxonomy is shared across files, and a rule may name an ancestor of a declared tag', () => {
    const taxonomy = write('taxonomy.yaml', 'tags: [pii.email, finance.card]\nunrestricted: true\n');
    const rules = write(
      'rules.yaml',
      `${product}\nglobalPolicies: [ { id: g, columns: [ { tags: [pii], action: { kind: hash } } ] } ]\n`,
    );
    expect(() => loadPolicyFiles([taxonomy, rules])).toThrow(
      '"unrestricted: true" but the policy files declare 1 rule(s)',
    );
    writeFileSync(taxonomy, 'tags: [pii.email, finance.card]\n');
    expect(loadPolicyFiles([taxonomy, rules]).set.taxonomy.knows('pii')).toBe(true);
    expect(() => loadPolicyFiles([rules])).toThrow(
      'tag "pii.email" on column "public.customers.email" is not declared',
    );
  });

  test('a column comment with an undeclared tag makes that column denied, naming the tag', () => {
    const path = write(
      'comment.yaml',
      `tags: [pii.email]\n${product}\nglobalPolicies: [ { id: g, columns: [ { tags: [pii.email], action: { kind: mask_email } } ] } ]\n`,
    );
    const bundle = loadPolicyFiles([path]);
    const relation = {
      dataProduct: 's',
      schema: 'public',
      name: 'orders',
      columns: [
        { name: 'card', type: 'text', comment: 'pgveil:tags=finance.crad' },
        { name: 'id', type: 'int4' },
      ],
    };
    const result = bundle.snapshot.decide({ user: 'a', groups: [], attributes: {} }, relation, undefined);
    expect(result.decision.columns).toEqual({ card: { action: { kind: 'deny' }, rules: ['taxonomy:finance.crad'] } });
    expect(result.reasons).toEqual([
      {
        ruleId: 'taxonomy:finance.crad',
        scope: 'global',
        column: 'card',
        effect: 'deny: tag "finance.crad" is not declared in the tag taxonomy',
      },
    ]);
  });
});

describe('access matrix over a live data product', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('matrix', {
      extraSql:
        "CREATE TABLE public.notes (id int, body text); COMMENT ON COLUMN public.notes.body IS 'pgveil:tags=pii.nots';",
    });
  });
  afterAll(() => stack.stop());

  test('policy lint --config reads comment tags and fails on findings; --warn-only does not', async () => {
    const config = join(stack.dir, 'pgveil.yaml');
    await expect(run('node', [CLI, 'policy', 'lint', '--config', config])).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringMatching(
        /^undeclared_tag: tag "pii\.nots" is carried by a column but not declared in the tag taxonomy: queries naming that column are refused\n1 finding\(s\) in policy version [0-9a-f]{12}\n$/,
      ),
    });
    const relaxed = await run('node', [CLI, 'policy', 'lint', '--config', config, '--warn-only']);
    expect(relaxed.stdout).toContain('1 finding(s)');
  });

  test('through the proxy, a column whose comment tag is undeclared is refused; its neighbours are not', async () => {
    const analyst = await stack.connect('analyst');
    try {
      await expect(analyst.query('SELECT body FROM notes')).rejects.toMatchObject({
        code: '42501',
        message: expect.stringContaining('"body"'),
      });
      expect((await analyst.query('SELECT count(id) AS n FROM notes')).rows).toEqual([{ n: '0' }]);
    } finally {
      await analyst.end();
    }
  });

  test('as a table and as JSON', async () => {
    const config = join(stack.dir, 'pgveil.yaml');
    const table = (await run('node', [CLI, 'access-matrix', '--config', config])).stdout;
    expect(table).toMatch(/^demo:public\.customers\.ssn\s+\| hash\s+\| allow$/m);
    expect(table).toMatch(/^demo:public\.customers \(rows\)\s+\| filtered\s+\| all$/m);
    const json = JSON.parse((await run('node', [CLI, 'access-matrix', '--config', config, '--json'])).stdout) as {
      profiles: string[];
      rows: Array<{ column: string; actions: string[] }>;
    };
    expect(json.profiles).toEqual(['analyst', 'steward']);
    expect(json.rows.find((r) => r.column === 'demo:public.orders.card_number')?.actions).toEqual(['mask', 'mask']);
  });
});
