/**
 * `pgveil policy test`'s own file is validated by policies/policy-test-schema.json, which
 * test/config/schemas-match-types.test.ts holds to the type the runner reads. A misspelt key in a
 * case's principal used to be accepted and ignored: the case then ran for a principal without the
 * attributes its author wrote, and could pass for the wrong reason. It is refused, with file and line.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPolicyTests, ValidationError } from '../../policies';

const dir = mkdtempSync(join(tmpdir(), 'pgveil-policy-test-file-'));
copyFileSync(join(__dirname, 'cases/governance.yaml'), join(dir, 'governance.yaml'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (principal: string): string => {
  const path = join(dir, 'cases.yaml');
  writeFileSync(
    path,
    `policies: [governance.yaml]
relations:
  sales:public.customers: { id: null, email: "pgveil:tags=pii.email", region: null }
cases:
  - name: analysts see masked e-mail
    principal: ${principal}
    relation: sales:public.customers
    expect: { columns: { email: mask, id: allow } }
`,
  );
  return path;
};

test('a well-formed case runs', () => {
  const results = runPolicyTests(file('{ user: ana, groups: [analysts], attributes: { region: EU } }'));
  expect(results).toEqual([{ name: 'analysts see masked e-mail', passed: true, problems: [] }]);
});

test('a misspelt principal key is refused, naming the file, the line and the key', () => {
  const path = file('{ user: ana, groups: [analysts], attribute: { region: EU } }');
  expect(() => runPolicyTests(path)).toThrow(ValidationError);
  expect(() => runPolicyTests(path)).toThrow(
    `${path}:6: cases.0.principal: must NOT have additional properties "attribute"`,
  );
});

test('groups and attribute values are strings (or lists of strings for attributes)', () => {
  expect(() => runPolicyTests(file('{ user: ana, groups: [{ name: analysts }] }'))).toThrow(
    'cases.0.principal.groups.0: must be string',
  );
  expect(() => runPolicyTests(file('{ user: ana, attributes: { region: { code: EU } } }'))).toThrow(
    'cases.0.principal.attributes.region',
  );
});
