/** Custom classifiers declared in a policy file: loaded with the policies, each rule kind proposing its tag. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFiles } from '../../policies';
import { BUILTIN_CLASSIFIERS } from '../../discovery/builtin-classifiers';
import { customClassifiersOf } from '../../discovery/custom-classifiers';
import { scoreColumn } from '../../discovery/score-column';

const dir = mkdtempSync(join(tmpdir(), 'pgveil-custom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const builtin = new Set(BUILTIN_CLASSIFIERS.map((c) => c.id));

const policy = (classifiers: string): string => {
  const path = join(dir, `p${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    path,
    `tags: [hr.employee_id, customer.segment]\nunrestricted: true\ndiscovery:\n  classifiers:\n${classifiers}`,
  );
  return path;
};

test('pattern, dictionary and column-name classifiers propose their tags; the policy engine loads the file', () => {
  const path = policy(`    - { id: employee_number, tag: hr.employee_id, pattern: "EMP-\\\\d{6}" }
    - { id: tier, tag: customer.segment, dictionary: [Bronze, Silver, Gold], minShare: 0.9 }
    - { id: internal, tag: customer.segment, columnName: "(^|_)internal_notes$" }
`);
  expect(loadPolicyFiles([path]).version).toMatch(/^[0-9a-f]{12}$/);
  const custom = customClassifiersOf([path], builtin);
  expect(custom.map((c) => c.id)).toEqual(['employee_number', 'tier', 'internal']);
  const tags = (name: string, values: string[]): string[] =>
    scoreColumn({ name, type: 'text', values }, [...BUILTIN_CLASSIFIERS, ...custom]).map(
      (p) => `${p.classifier}:${p.tag}`,
    );
  expect(tags('ref', ['EMP-000001', 'EMP-123456', 'EMP-999999'])).toEqual(['employee_number:hr.employee_id']);
  expect(tags('ref', ['EMP-1', 'EMP-2', 'EMP-3'])).toEqual([]);
  expect(tags('level', ['gold', 'SILVER', 'Bronze', 'gold'])).toEqual(['tier:customer.segment']);
  expect(tags('level', ['gold', 'silver', 'iron', 'tin'])).toEqual([]);
  expect(tags('internalNotes', ['anything at all', 'more'])).toEqual(['internal:customer.segment']);
});

test('a classifier without a rule, with a bad pattern, or reusing a built-in id is refused', () => {
  expect(() => loadPolicyFiles([policy('    - { id: nothing, tag: customer.segment }\n')])).toThrow();
  expect(() =>
    customClassifiersOf([policy('    - { id: broken, tag: customer.segment, pattern: "(" }\n')], builtin),
  ).toThrow('discovery classifier "broken": invalid regular expression "("');
  expect(() =>
    customClassifiersOf([policy('    - { id: email, tag: customer.segment, pattern: "x" }\n')], builtin),
  ).toThrow('discovery classifier "email" is declared more than once or shadows a built-in one');
});
