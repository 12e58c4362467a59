/**
 * What discovery's sampling really runs with, seen from inside PostgreSQL: a read-only transaction
 * (a view whose function writes fails with 25006 and writes nothing), the configured statement
 * timeout, and bounded memory (values cut to maxValueChars, rows lowered so that a wide relation's
 * sample stays under maxCharsPerRelation). A recording classifier sees exactly what the sample query
 * returned.
 */
import { join } from 'node:path';
import { Client } from 'pg';
import { loadServerConfig } from '../../cli/config/load-server-config';
import { loadPolicyFiles } from '../../policies';
import { discoverProduct } from '../../discovery/discover-product';
import { VALID, type Classifier } from '../../discovery/classifier';
import type { DataProductConfig } from '../../policies/policy-model';
import { startStack, type Stack } from '../support/pgveil-stack';

const WIDE_COLUMNS = 40;
let stack: Stack;
let product: DataProductConfig;

beforeAll(async () => {
  const wide = Array.from({ length: WIDE_COLUMNS }, (_, i) => `c${i} text`).join(', ');
  const wideValues = Array.from({ length: WIDE_COLUMNS }, () => `repeat('w', 500)`).join(', ');
  stack = await startStack('discbounds', {
    extraSql: `
      CREATE VIEW public.settings_probe AS
        SELECT pg_catalog.current_setting('transaction_read_only') AS read_only,
               pg_catalog.current_setting('statement_timeout') AS timeout;
      CREATE TABLE public.trail (at timestamptz);
      CREATE FUNCTION public.leave_a_trace() RETURNS text LANGUAGE plpgsql VOLATILE AS
        $$ BEGIN INSERT INTO public.trail VALUES (now()); RETURN 'written'; END $$;
      CREATE VIEW public.writer AS SELECT public.leave_a_trace() AS w;
      CREATE TABLE public.wide (${wide});
      INSERT INTO public.wide SELECT ${wideValues} FROM generate_series(1, 1000);
    `,
  });
  // Only the read-only transaction stands between the service account and the write.
  await stack.db.exec(
    `GRANT INSERT ON public.trail TO ${stack.serviceRole}; GRANT EXECUTE ON FUNCTION public.leave_a_trace() TO ${stack.serviceRole}`,
  );
  const config = loadServerConfig(join(stack.dir, 'pgveil.yaml'));
  product = loadPolicyFiles(config.policies).dataProducts.get('demo')!;
});
afterAll(() => stack.stop());

/** A classifier that keeps every value it is shown (it claims them all, so it never stops grading early). */
function recorder(): { classifier: Classifier; seen: string[] } {
  const seen: string[] = [];
  const classifier: Classifier = {
    id: 'recorder',
    tag: 'test.recorded',
    description: 'records what discovery grades',
    specificity: 0,
    grade(value) {
      seen.push(value);
      return VALID;
    },
  };
  return { classifier, seen };
}

test('the sample runs in a read-only transaction with the configured statement timeout', async () => {
  const { classifier, seen } = recorder();
  const report = await discoverProduct(product, {
    classifiers: [classifier],
    statementTimeoutMs: 4321,
    excludeSchemas: ['pgveil'],
    only: new Set(['public.settings_probe', 'public.writer']),
  });
  expect(seen).toEqual(['on', '4321ms']);
  // A view that writes cannot run: the transaction is read only, and nothing was written.
  expect(report.relations.find((r) => r.name === 'writer')!.failure).toEqual({
    sqlstate: '25006',
    reason: 'the relation cannot be read in a read-only transaction',
  });
  const admin = new Client(stack.db.config());
  await admin.connect();
  try {
    expect((await admin.query('SELECT count(*)::int AS n FROM public.trail')).rows).toEqual([{ n: 0 }]);
  } finally {
    await admin.end();
  }
});

test('values are cut to maxValueChars and a wide relation gets fewer rows, so one sample stays bounded', async () => {
  const { classifier, seen } = recorder();
  const report = await discoverProduct(product, {
    classifiers: [classifier],
    rows: 1000,
    maxValueChars: 32,
    maxCharsPerRelation: WIDE_COLUMNS * 32 * 50,
    excludeSchemas: ['pgveil'],
    only: new Set(['public.wide']),
  });
  expect(report.relations[0]!.sample).toEqual({ rows: 50, method: 'limit' });
  expect(seen).toHaveLength(WIDE_COLUMNS * 50);
  expect(new Set(seen)).toEqual(new Set(['w'.repeat(32)]));
});

test('the row cap asked for is never exceeded, and a very wide relation gets shorter values instead of fewer than 20 rows', async () => {
  const few = recorder();
  const capped = await discoverProduct(product, {
    classifiers: [few.classifier],
    rows: 5,
    excludeSchemas: ['pgveil'],
    only: new Set(['public.wide']),
  });
  expect(capped.relations[0]!.sample).toEqual({ rows: 5, method: 'limit' });
  expect(few.seen).toHaveLength(WIDE_COLUMNS * 5);

  const narrow = recorder();
  const wide = await discoverProduct(product, {
    classifiers: [narrow.classifier],
    rows: 1000,
    maxValueChars: 32,
    // 15 rows of 40 values of 32 characters would fit: 20 rows of 25 characters are read instead.
    maxCharsPerRelation: WIDE_COLUMNS * 500,
    excludeSchemas: ['pgveil'],
    only: new Set(['public.wide']),
  });
  expect(wide.relations[0]!.sample).toEqual({ rows: 20, method: 'limit' });
  expect(new Set(narrow.seen)).toEqual(new Set(['w'.repeat(25)]));
  expect(narrow.seen.join('').length).toBeLessThanOrEqual(WIDE_COLUMNS * 500);
});
