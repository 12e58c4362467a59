/**
 * `pgveil discover` as a user runs it (the built CLI) on the demo data product plus an untagged
 * table: JSON for CI, --write into the policy file (only tags the taxonomy declares, unless
 * --declare-tags), --sql for data owners, and lint and access matrix showing untagged columns.
 * No sampled value reaches stdout or stderr.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { loadPolicyFiles } from '../../policies';
import { startStack, type Stack } from '../support/pgveil-stack';

const run = promisify(execFile);
const CLI = join(__dirname, '../../dist/cli/pgveil.js');
const CANARY = 'zqcanarylead';
let stack: Stack;
let config: string;
const pgveil = (...args: string[]) => run('node', [CLI, ...args]);

beforeAll(async () => {
  stack = await startStack('discli', {
    extraSql: `CREATE TABLE public.leads (id int, contact text, last_ip text, stage text);
      INSERT INTO public.leads SELECT i, '${CANARY}' || i || '@example.org', '10.1.' || (i % 250) || '.' || (i * 7 % 250), 'new' FROM generate_series(1, 60) i;
      CREATE VIEW public.leads_view AS SELECT id, contact FROM public.leads;`,
  });
  config = join(stack.dir, 'pgveil.yaml');
});
afterAll(() => stack.stop());

test('--json reports proposals with confidence and evidence, never a value; --fail-on-untagged exits 3', async () => {
  // Untagged columns get proposals: --fail-on-untagged makes that exit code 3, for CI.
  const failed = await pgveil('discover', '--config', config, '--json', '--fail-on-untagged').then(
    () => ({ code: 0, stdout: '', stderr: '' }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  expect(failed.code).toBe(3);
  const { stdout, stderr } = failed;
  expect(stdout + stderr).not.toContain(CANARY);
  const report = JSON.parse(stdout) as {
    dataProduct: string;
    relations: Array<{
      name: string;
      sample?: { rows: number };
      columns: Array<{
        name: string;
        tags: string[];
        proposals: Array<{ classifier: string; tag: string; confidence: number; evidence?: unknown }>;
      }>;
    }>;
  };
  expect(report.dataProduct).toBe('demo');
  const leads = report.relations.find((r) => r.name === 'leads')!;
  expect(leads.sample).toEqual({ rows: 60, method: 'limit' });
  expect(leads.columns.map((c) => [c.name, c.proposals.map((p) => `${p.tag}@${p.confidence}`)])).toEqual([
    ['id', []],
    ['contact', ['pii.email@0.9']],
    ['last_ip', ['pii.ip_address@0.99']],
    ['stage', []],
  ]);
  expect(leads.columns[1]!.proposals[0]!.evidence).toEqual({
    sampled: 60,
    shapeShare: 1,
    validShare: 1,
    nameHint: false,
  });
});

test('lint --config and the access matrix show the discovered-but-untagged columns', async () => {
  await expect(pgveil('policy', 'lint', '--config', config)).rejects.toMatchObject({
    code: 1,
    stdout: expect.stringContaining(
      'untagged_sensitive: column "demo:public.leads.contact" looks like pii.email (confidence 0.90, email) but no tag covers it',
    ),
  });
  const matrix = (await pgveil('access-matrix', '--config', config)).stdout;
  expect(matrix).toContain(
    'discovered but untagged (no tag rule reaches these columns):\n  demo:public.leads.contact: looks like pii.email (confidence 0.90)\n  demo:public.leads.last_ip: looks like pii.ip_address (confidence 0.99)',
  );
  expect(matrix).not.toContain(CANARY);
});

test('--sql prints COMMENT ON COLUMN statements for the untagged columns', async () => {
  const { stdout } = await pgveil('discover', '--config', config, '--sql', '--declare-tags');
  expect(stdout).toContain(`COMMENT ON COLUMN "public"."leads"."contact" IS 'pgveil:tags=pii.email';`);
  expect(stdout).toContain(`COMMENT ON COLUMN "public"."leads"."last_ip" IS 'pgveil:tags=pii.ip_address';`);
});

test('--write records declared tags only and names the missing ones; --declare-tags adds them to the taxonomy', async () => {
  const before = readFileSync(stack.policiesFile, 'utf8');
  const first = await pgveil('discover', '--config', config, '--write');
  expect(first.stdout).toContain(
    'not written: tag "pii.ip_address" is not in the tag taxonomy (add it to "tags:" or use --declare-tags): public.leads.last_ip',
  );
  expect(first.stdout).toContain('wrote tags for 1 column(s) of data product demo');
  const written = loadPolicyFiles([stack.policiesFile]).dataProducts.get('demo')!.tables!;
  expect(written['public.leads']).toEqual({ columns: { contact: ['pii.email'] } });
  expect(written['public.customers']).toEqual({ columns: { name: ['pii.name'] } });
  // The file's comments survive the edit.
  expect(readFileSync(stack.policiesFile, 'utf8')).toContain('# The tag taxonomy: a tag that a column');
  expect(before).not.toContain('public.leads');

  const second = await pgveil('discover', '--config', config, '--write', '--declare-tags');
  expect(second.stdout).toContain('declared in the tag taxonomy: pii.ip_address');
  const bundle = loadPolicyFiles([stack.policiesFile]);
  expect(bundle.set.taxonomy.knows('pii.ip_address')).toBe(true);
  expect(bundle.dataProducts.get('demo')!.tables!['public.leads']).toEqual({
    columns: { contact: ['pii.email'], last_ip: ['pii.ip_address'] },
  });
  expect(second.stdout + second.stderr).not.toContain(CANARY);
});

test('the written tag is the one the running pgveil applies: the analyst reads the e-mail masked', async () => {
  expect(stack.pgveil.policies.reload()).toBe(true);
  const analyst = await stack.connect('analyst');
  try {
    const { rows } = await analyst.query<{ contact: string }>('SELECT contact FROM public.leads WHERE id = 1');
    expect(rows).toEqual([{ contact: 'z************@example.org' }]);
  } finally {
    await analyst.end();
  }
});

test('once the base columns are tagged, a view over them does not fail --fail-on-untagged', async () => {
  // The view is protected through public.leads: --write names it, and CI passes.
  const { stdout } = await pgveil('discover', '--config', config, '--json', '--fail-on-untagged');
  const view = (
    JSON.parse(stdout) as {
      relations: Array<{ name: string; columns: Array<{ name: string; proposals: Array<{ tag: string }> }> }>;
    }
  ).relations.find((r) => r.name === 'leads_view')!;
  expect(view.columns.find((c) => c.name === 'contact')!.proposals.map((p) => p.tag)).toEqual(['pii.email']);
});
