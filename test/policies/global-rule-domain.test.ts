/**
 * A global rule applies to every data product; only a domain rule has a `domain`. A `domain` on a
 * global rule used to be accepted and read by nothing, so the rule silently applied everywhere while
 * its author meant one domain, or meant it as the domain's own rule. Neither reading is safe to
 * guess (scoping it to the domain would lift it from every other data product): the file is refused
 * at load, naming the file, the line and where the rule belongs, and the running version stays.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFiles, PolicyStore, ValidationError } from '../../policies';

const dir = mkdtempSync(join(tmpdir(), 'pgveil-global-domain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PRODUCTS = `tags: [pii.email]
dataProducts:
  - name: sales
    domain: sales
    upstream: { host: 127.0.0.1, port: 5432, database: sales, user: pgveil_sales }
  - name: hr
    domain: people
    upstream: { host: 127.0.0.1, port: 5432, database: hr, user: pgveil_hr }
`;
const rule = (section: string, domain: boolean): string => `${section}:
  - id: mask-email
${domain ? '    domain: sales\n' : ''}    columns:
      - tags: [pii.email]
        action: { kind: mask_email }
`;

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test('a global rule with a domain is refused at load: file, line, key and where the rule belongs', () => {
  const path = write('global-with-domain.yaml', PRODUCTS + rule('globalPolicies', true));
  let error: unknown;
  try {
    loadPolicyFiles([path]);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ValidationError);
  // Line 10 is the rule's first line (`- id: mask-email`), the object the key is in.
  expect((error as Error).message).toBe(
    `${path}:10: globalPolicies.0: must NOT have additional properties "domain": a global rule applies to every data product whatever its domain: a rule for one domain goes under domainPolicies`,
  );
  expect(() => new PolicyStore({ paths: [path], watch: false })).toThrow(ValidationError);
});

test('the same rule loads as a global rule without the domain, and as a domain rule with it', () => {
  const global = loadPolicyFiles([write('global.yaml', PRODUCTS + rule('globalPolicies', false))]);
  expect(global.set.globalPolicies.map((r) => r.id)).toEqual(['mask-email']);
  const domain = loadPolicyFiles([write('domain.yaml', PRODUCTS + rule('domainPolicies', true))]);
  expect(domain.set.domainPolicies.map((r) => [r.id, r.domain])).toEqual([['mask-email', 'sales']]);
});

test('a domain rule still needs its domain', () => {
  const path = write('domain-without.yaml', PRODUCTS + rule('domainPolicies', false));
  expect(() => loadPolicyFiles([path])).toThrow(`${path}:10: domainPolicies.0: must have required property 'domain'`);
});

test('a reload that adds a domain to a global rule keeps the running version', () => {
  const path = write('reloaded.yaml', PRODUCTS + rule('globalPolicies', false));
  const failures: Error[] = [];
  const store = new PolicyStore({ paths: [path], watch: false, onReloadFailed: (e) => failures.push(e) });
  try {
    const running = store.current().version;
    writeFileSync(path, PRODUCTS + rule('globalPolicies', true));
    expect(store.reload()).toBe(false);
    expect(store.current().version).toBe(running);
    expect(failures.map((e) => e.message)).toEqual([
      expect.stringContaining('must NOT have additional properties "domain"'),
    ]);
  } finally {
    store.close();
  }
});
