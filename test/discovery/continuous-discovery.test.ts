/**
 * Continuous discovery in a running pgveil: a catalog refresh that brings a new table with an
 * untagged e-mail column raises one untagged_sensitive_column event (not one per refresh), the
 * gauge counts the column until a tag covers it, and no sampled value reaches the events.
 */
import { readFileSync } from 'node:fs';
import { startStack, type Stack } from '../support/pgveil-stack';
import { waitForText } from '../support/wait-for-text';

const CANARY = 'zq-canary-lead';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack('contdisc', {
    configLines: ['discovery: { continuous: { enabled: true, rows: 100, maxRelations: 10 } }'],
  });
});
afterAll(() => stack.stop());

const gauge = async (): Promise<string> =>
  (await stack.pgveil.metrics.registry.getSingleMetricAsString('pgveil_untagged_sensitive_columns'))
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
const refresh = async (): Promise<void> => {
  await stack.pgveil.catalogs.refresh('demo');
  await stack.pgveil.discovery!.idle();
};
const events = (): Array<Record<string, unknown>> =>
  readFileSync(stack.eventsFile, { encoding: 'utf8', flag: 'a+' })
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.kind === 'untagged_sensitive_column');

test('the tagged demo product raises nothing; a new untagged e-mail column raises one event, once', async () => {
  await refresh();
  expect(await gauge()).toBe('pgveil_untagged_sensitive_columns{data_product="demo"} 0');
  await stack.db.exec(`CREATE TABLE public.leads (id int, contact text, stage text);
    INSERT INTO public.leads SELECT i, '${CANARY}' || i || '@example.org', 'new' FROM generate_series(1, 50) i;
    GRANT SELECT ON public.leads TO ${stack.serviceRole};`);
  await refresh();
  await waitForText(stack.eventsFile, 'untagged_sensitive_column');
  await refresh();
  await new Promise((r) => setTimeout(r, 100));
  const raised = events();
  expect(raised).toHaveLength(1);
  expect(raised[0]).toMatchObject({
    class_uid: 2004,
    class_name: 'Detection Finding',
    severity: 'medium',
    dataProduct: 'demo',
    reasons: ['email'],
    finding: {
      relation: 'public.leads',
      column: 'contact',
      classifier: 'email',
      proposedTags: ['pii.email'],
      confidence: 0.9,
    },
  });
  expect(await gauge()).toBe('pgveil_untagged_sensitive_columns{data_product="demo"} 1');
  expect(readFileSync(stack.eventsFile, 'utf8')).not.toContain(CANARY);
});

test('a tag added by the data owner ends the finding', async () => {
  await stack.db.exec(`COMMENT ON COLUMN public.leads.contact IS 'pgveil:tags=pii.email'`);
  await refresh();
  expect(await gauge()).toBe('pgveil_untagged_sensitive_columns{data_product="demo"} 0');
  expect(events()).toHaveLength(1);
});

test('a changed relation is sampled again: a new column raises its own event, the old ones are not raised twice', async () => {
  await stack.db.exec(`ALTER TABLE public.leads ADD COLUMN backup_contact text;
    UPDATE public.leads SET backup_contact = '${CANARY}-backup' || id || '@example.net';`);
  await refresh();
  await refresh();
  const raised = events();
  expect(raised.map((e) => (e.finding as { column: string }).column)).toEqual(['contact', 'backup_contact']);
  expect(raised[1]).toMatchObject({
    dataProduct: 'demo',
    finding: { relation: 'public.leads', column: 'backup_contact', classifier: 'email', proposedTags: ['pii.email'] },
  });
  expect(await gauge()).toBe('pgveil_untagged_sensitive_columns{data_product="demo"} 1');
  expect(readFileSync(stack.eventsFile, 'utf8')).not.toContain(CANARY);
  expect(readFileSync(stack.auditFile, { encoding: 'utf8', flag: 'a+' })).not.toContain(CANARY);
});
