/**
 * pg_subscription is readable without its connection strings: it is read through a derived table of
 * its other columns, also inside a data product's own view (expanded), so subconninfo is a column
 * that does not exist whoever asks and however. statement-guard.ts HIDDEN_CATALOG_COLUMNS.
 */
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { printedAsRead } from '../support/printed-as-read';
import { analystPolicy } from '../support/static-policy';
import { rewrite } from '../../rewriter';

let demo: DemoProduct;
beforeAll(async () => {
  demo = await createDemoProduct(
    'rw_hidden_columns',
    `CREATE VIEW public.subscription_targets AS SELECT s.subname, s.subconninfo FROM pg_catalog.pg_subscription s;
     CREATE VIEW public.role_passwords AS SELECT rolname, rolpassword FROM pg_catalog.pg_authid;
     CREATE VIEW public.column_stats AS SELECT starelid, stanullfrac FROM pg_catalog.pg_statistic;`,
  );
});
afterAll(() => demo.stop());

const plan = (sql: string): string => {
  const outcome = rewrite(sql, demo.context(analystPolicy));
  if (outcome.kind !== 'plan') throw new Error(`refused: ${sql}\n-> ${outcome.message}`);
  return outcome.sql;
};

// PostgreSQL 15's pg_subscription, in attnum order, less subconninfo.
const VISIBLE =
  'oid, subdbid, subskiplsn, subname, subowner, subenabled, subbinary, substream, subtwophasestate, subdisableonerr, subslotname, subsynccommit, subpublications';
const derived = (alias: string): string =>
  `( SELECT ${VISIBLE.split(', ')
    .map((c) => `${c} AS ${c}`)
    .join(', ')} FROM pg_catalog.pg_subscription ) AS ${alias}`;

test("golden: pg_dump's count of subscriptions reads the derived table, and runs", async () => {
  const sql =
    'SELECT count(*) FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())';
  expect(printedAsRead(plan(sql))).toBe(
    `SELECT count(*) FROM ${derived('pg_subscription')} WHERE subdbid = ((SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))`,
  );
  expect((await demo.client.query(plan(sql))).rows).toEqual([{ count: '0' }]);
});

test('subconninfo does not exist: named, qualified, through *, or inside a view', async () => {
  await expect(demo.client.query(plan('SELECT subconninfo FROM pg_subscription'))).rejects.toMatchObject({
    code: '42703',
  });
  await expect(
    demo.client.query(plan('SELECT pg_catalog.pg_subscription.subconninfo FROM pg_catalog.pg_subscription')),
  ).rejects.toMatchObject({ code: '42703' });
  const star = await demo.client.query(plan('SELECT * FROM pg_subscription'));
  expect(star.fields.map((f) => f.name).join(', ')).toBe(VISIBLE);
  // The view is expanded (read as it is, it would read the column with its owner's rights).
  expect(printedAsRead(plan('SELECT subname FROM subscription_targets'))).toBe(
    `SELECT subname FROM ( SELECT s.subname, s.subconninfo FROM ${derived('s')} ) AS subscription_targets(subname, subconninfo)`,
  );
  await expect(demo.client.query(plan('SELECT subname FROM subscription_targets'))).rejects.toMatchObject({
    code: '42703',
    message: 'column s.subconninfo does not exist',
  });
});

test('a view over a catalog initdb made is seen, though pg_depend records nothing on it (pinned)', () => {
  for (const [view, catalog] of [
    ['role_passwords', 'pg_authid'],
    ['column_stats', 'pg_statistic'],
  ]) {
    expect(rewrite(`SELECT * FROM ${view}`, demo.context(analystPolicy))).toMatchObject({
      kind: 'refusal',
      reasons: ['refused_catalog'],
      message: expect.stringContaining(`relation "pg_catalog.${catalog}" is not allowed through pgveil`),
    });
  }
});
