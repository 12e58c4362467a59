/**
 * Issue #12 point 3 as the issue reported it: a typo in a rule's tag (`pii.emial`) saved into the
 * policy file of a running pgveil. The change is refused at its line, the column stays masked, and
 * `policy lint` on the files alone exits non-zero on a finding so that CI stops there.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startStack, type Stack } from '../support/pgveil-stack';
import { waitForText } from '../support/wait-for-text';

const CLI = join(__dirname, '../../dist/cli/pgveil.js');
let stack: Stack;
beforeAll(async () => {
  stack = await startStack('tag_typo', { configLines: ['policyReload: { settleMs: 25, checkSeconds: 0.2 }'] });
});
afterAll(async () => stack.stop());

test('a rule tag typo saved while pgveil serves is refused at its line; the e-mail stays masked', async () => {
  const analyst = await stack.connect('analyst');
  const original = readFileSync(stack.policiesFile, 'utf8');
  try {
    const running = stack.pgveil.policies.current().version;
    const typo = original.replace('- tags: [pii.email]\n        action: { kind: mask_email }', (rule) =>
      rule.replace('pii.email', 'pii.emial'),
    );
    expect(typo).not.toBe(original);
    const line = typo.slice(0, typo.indexOf('pii.emial')).split('\n').length;
    writeFileSync(stack.policiesFile, typo);
    const events = await waitForText(stack.eventsFile, 'policy_reload_failed');
    expect(events).toContain(
      `${stack.policiesFile}:${line}: tag \\"pii.emial\\" in rule \\"mask-pii\\" is not declared in the tag taxonomy`,
    );
    expect(stack.pgveil.policies.current().version).toBe(running);
    expect((await analyst.query('SELECT email FROM customers WHERE id = 3')).rows).toEqual([
      { email: 'c********@example.com' },
    ]);
  } finally {
    writeFileSync(stack.policiesFile, original);
    await analyst.end();
  }
});

test('policy lint FILE exits 1 on a finding, 0 with --warn-only', async () => {
  const lint = (...args: string[]) => promisify(execFile)('node', [CLI, 'policy', 'lint', ...args]);
  // A shadowed rule (and, without a catalog, tags no known column carries).
  const file = join(stack.dir, 'lint-me.yaml');
  writeFileSync(
    file,
    [
      'tags: [pii.email]',
      'globalPolicies:',
      '  - { id: always-null, columns: [ { tags: [pii], action: { kind: "null" } } ] }',
      '  - { id: mask-email, columns: [ { tags: [pii.email], action: { kind: mask_email } } ] }',
      '',
    ].join('\n'),
  );
  await expect(lint(file)).rejects.toMatchObject({
    code: 1,
    stdout: expect.stringContaining(
      'shadowed: rule "mask-email" (mask_email on pii.email) never applies: rule "always-null" always nulls pii\n',
    ),
  });
  expect((await lint(file, '--warn-only')).stdout).toMatch(/\n3 finding\(s\) in policy version [0-9a-f]{12}\n$/);
});
