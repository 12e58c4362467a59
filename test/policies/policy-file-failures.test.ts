/**
 * A policy file that is empty, blank, only comments, truncated, broken, missing or not a mapping
 * never replaces the running version: on reload the running version stays and a
 * policy_reload_failed event names the file and the reason; at start pgveil refuses to start.
 * The governance rules live in a file of their own, as a platform team would keep them, so that
 * emptying that one file is the attack (it used to unmask every PII column).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { loadPolicyFiles, PolicyStore } from '../../policies';
import { startStack, type Stack } from '../support/pgveil-stack';

const MASKED_EMAIL = 'c********@example.com';

/** Moves `globalPolicies:` (up to `domainPolicies:`) of the demo into global.yaml. */
function splitLayout(dir: string, demo: string): string[] {
  const start = demo.indexOf('globalPolicies:');
  const end = demo.indexOf('domainPolicies:');
  writeFileSync(join(dir, 'policies.yaml'), demo.slice(0, start) + demo.slice(end));
  writeFileSync(join(dir, 'global.yaml'), demo.slice(start, end));
  return [join(dir, 'policies.yaml'), join(dir, 'global.yaml')];
}

describe('reloading a broken global policy file', () => {
  let stack: Stack;
  let globalFile: string;
  let original: string;
  /** pgveil's own log, as JSON lines: the refusal must be there at error level too. */
  const logLines: string[] = [];

  beforeAll(async () => {
    stack = await startStack('policy_failures', {
      policyLayout: splitLayout,
      configLines: ['policyReload: { settleMs: 25, checkSeconds: 0.2 }'],
      logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
    });
    globalFile = join(stack.dir, 'global.yaml');
    original = readFileSync(globalFile, 'utf8');
  });
  afterAll(async () => stack.stop());

  const cases: ReadonlyArray<[string, (path: string) => void, string]> = [
    ['emptied (: > global.yaml)', (p) => writeFileSync(p, ''), 'global.yaml: the file is empty'],
    ['whitespace only', (p) => writeFileSync(p, '  \n\t\n\n'), 'global.yaml: the file is empty'],
    [
      'comments only',
      (p) => writeFileSync(p, '# rules moved elsewhere\n'),
      'global.yaml:1: the file holds no value (only comments?)',
    ],
    [
      'truncated mid-rule',
      (p) => writeFileSync(p, original.slice(0, original.indexOf('mask_email') + 4)),
      'global.yaml: Flow map in block collection must be sufficiently indented and end with a }',
    ],
    [
      'syntactically broken',
      (p) => writeFileSync(p, 'globalPolicies: [ { id: mask-pii, columns: [\n'),
      'global.yaml: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
    [
      'a list at the top level',
      (p) => writeFileSync(p, '- id: mask-pii\n- id: mask-cards\n'),
      'global.yaml:1: the file top level is not a mapping',
    ],
    ['deleted', (p) => unlinkSync(p), 'cannot read policy file'],
  ];

  test.each(cases)(
    '%s: the running version stays, the event names the file and reason',
    async (_name, breakIt, reason) => {
      const analyst = await stack.connect('analyst');
      try {
        const running = stack.pgveil.policies.current().version;
        const eventsBefore = readFileSync(stack.eventsFile, 'utf8').split('\n').length;
        const failuresBefore = reloadFailures(stack.eventsFile);
        const logBefore = logLines.length;
        breakIt(globalFile);
        // The watcher sees the change; the refusal is an event naming the file and why.
        const events = await waitForEvent(stack.eventsFile, eventsBefore, 'policy_reload_failed');
        expect(events.message).toContain(globalFile.replace(/global\.yaml$/, ''));
        expect(events.message).toContain(reason);
        expect(stack.pgveil.policies.current().version).toBe(running);
        // The operator's log says it at error level, with the same reason and the version kept.
        const logged = logLines.slice(logBefore).map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(logged).toContainEqual(
          expect.objectContaining({
            level: 50,
            msg: 'policy change refused: the running version stays',
            error: events.message,
            policyVersion: running,
          }),
        );
        expect((await analyst.query('SELECT email, phone FROM customers WHERE id = 3')).rows).toEqual([
          { email: MASKED_EMAIL, phone: '*******0111' },
        ]);
        // A later periodic check does not load it either, nor report it again.
        await new Promise((r) => setTimeout(r, 500));
        expect(stack.pgveil.policies.current().version).toBe(running);
        expect(reloadFailures(stack.eventsFile)).toBe(failuresBefore + 1);
      } finally {
        writeFileSync(globalFile, original);
        await analyst.end();
      }
    },
  );
});

function reloadFailures(eventsFile: string): number {
  return readFileSync(eventsFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"kind":"policy_reload_failed"')).length;
}

async function waitForEvent(
  path: string,
  linesBefore: number,
  kind: string,
): Promise<{ kind: string; message: string }> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const lines = readFileSync(path, 'utf8')
      .split('\n')
      .slice(linesBefore - 1)
      .filter((l) => l.trim().length > 0);
    const event = lines.map((l) => JSON.parse(l) as { kind: string; message: string }).find((e) => e.kind === kind);
    if (event) return event;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no ${kind} event within 5 s`);
}

describe('at start and at load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-policy-load-'));
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const rule = 'globalPolicies: [ { id: g, columns: [ { tags: [pii.email], action: { kind: mask_email } } ] } ]\n';

  test.each([
    ['empty', '', 'the file is empty'],
    ['blank', ' \n \n', 'the file is empty'],
    ['only comments', '# nothing\n', 'holds no value'],
    ['a scalar', 'hello\n', 'top level is not a mapping'],
    ['a list', '- a\n', 'top level is not a mapping'],
    [
      'truncated mid-rule',
      'tags: [pii.email]\nglobalPolicies:\n  - id: g\n    columns:\n      - tags: [pii.email]\n        action: { kind: mask_em',
      'must be sufficiently indented and end with a } at line 6, column 32',
    ],
    ['syntactically broken', 'globalPolicies: [ { id: g, columns: [\n', 'end with a ] at line 2, column 1'],
  ])('%s file: refused, naming the file', (_name, text, reason) => {
    const path = file(`${_name.replace(/ /g, '-')}.yaml`, text);
    expect(() => loadPolicyFiles([path])).toThrow(`${path}`);
    expect(() => loadPolicyFiles([path])).toThrow(reason);
    expect(() => new PolicyStore({ paths: [path], watch: false })).toThrow(reason);
  });

  test('the version depends on the files, not on the directory they are mounted in', () => {
    const text = `tags: [pii.email]\n${rule}`;
    const elsewhere = mkdtempSync(join(tmpdir(), 'pgveil-policy-mount-'));
    writeFileSync(join(elsewhere, 'same.yaml'), text);
    expect(loadPolicyFiles([file('same.yaml', text)]).version).toBe(
      loadPolicyFiles([join(elsewhere, 'same.yaml')]).version,
    );
    expect(loadPolicyFiles([file('same.yaml', text)]).version).not.toBe(
      loadPolicyFiles([file('same.yaml', `${text}# changed\n`)]).version,
    );
  });

  test('a missing file is refused', () => {
    expect(() => loadPolicyFiles([join(dir, 'nowhere.yaml')])).toThrow(
      `cannot read policy file "${join(dir, 'nowhere.yaml')}"`,
    );
    expect(() => new PolicyStore({ paths: [join(dir, 'nowhere.yaml')], watch: false })).toThrow(
      `cannot read policy file "${join(dir, 'nowhere.yaml')}"`,
    );
  });

  test('a policy set with no rule must say unrestricted: true, and may not say it while it has rules', () => {
    expect(() => loadPolicyFiles([file('norules.yaml', 'users: []\n')])).toThrow(
      'the policy files declare no global or domain rule',
    );
    expect(loadPolicyFiles([file('open.yaml', 'unrestricted: true\nusers: []\n')]).set.globalPolicies).toEqual([]);
    const both = file('both.yaml', `unrestricted: true\ntags: [pii.email]\n${rule}`);
    expect(() => loadPolicyFiles([both])).toThrow(
      `${both}: "unrestricted: true" but the policy files declare 1 rule(s)`,
    );
  });

  test('serve refuses to start on an empty policy file and says which and why', async () => {
    const policies = file('serve-empty.yaml', '');
    const config = file(
      'serve.yaml',
      `listen: { host: 127.0.0.1, port: 0 }\npolicies: [ ${JSON.stringify(policies)} ]\naudit: { file: ${JSON.stringify(join(dir, 'audit.jsonl'))} }\n`,
    );
    const failure = await promisify(execFile)('node', [
      join(__dirname, '../../dist/cli/pgveil.js'),
      'serve',
      '--config',
      config,
    ]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toBe(`pgveil: ${policies}: the file is empty\n`);
  });
});
