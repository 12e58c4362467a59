/**
 * catalog/policy-locations.ts (tested here with the other files typed for issue 15): the file and
 * line of each rule and data product, read only while the files still hold the running version.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policyLocations } from '../../catalog/policy-locations';
import { policyVersionOf, readPolicySources } from '../../policies';

const TEXT = `# rules and products
dataProducts:
  - name: sales
    upstream: { host: h }
  - just a string
  - name: hr
globalPolicies:
  - id: g-one
    columns: []
  - [not, a, map]
  - id: g-two
domainPolicies:
  - id: d-one
  - id: g-one
`;

test('each rule and data product is found at its line; items that are not mappings are skipped', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'pgveil-locations-')), 'policies.yaml');
  writeFileSync(path, TEXT);
  const version = policyVersionOf(readPolicySources([path]));
  const found = policyLocations([path], version);
  expect(Object.fromEntries(found.rules)).toEqual({
    'g-one': { file: path, line: 8 },
    'g-two': { file: path, line: 11 },
    'd-one': { file: path, line: 13 },
  });
  expect(Object.fromEntries(found.dataProducts)).toEqual({
    sales: { file: path, line: 3 },
    hr: { file: path, line: 6 },
  });
  expect(policyLocations([path], 'another-version').rules.size).toBe(0);
});
