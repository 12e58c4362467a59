/**
 * Sequence values (what pg_dump reads): the catalog knows which columns each sequence numbers
 * (OWNED BY, serial, identity, a default calling nextval), and a read is let through as it is only
 * where the value tells nothing the principal's policy hides. docs/pg-dump.md, "Sequences".
 */
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { analystPolicy, staticPolicy } from '../support/static-policy';
import { rewrite, type RewriteOutcome } from '../../rewriter';
import type { PolicySnapshot } from '../../policies/decision';

const SEQUENCES = `
CREATE SEQUENCE public.customer_number OWNED BY public.customers.id;
CREATE TABLE public.tickets (id serial PRIMARY KEY, subject text);
CREATE SEQUENCE public.order_ref;
ALTER TABLE public.orders ADD COLUMN ref bigint DEFAULT pg_catalog.nextval('public.order_ref');
CREATE TABLE public.notes (n integer GENERATED ALWAYS AS IDENTITY, body text);
CREATE SEQUENCE public.standalone;
CREATE VIEW public.customer_counter AS SELECT last_value FROM public.customer_number;
`;

let demo: DemoProduct;
beforeAll(async () => {
  demo = await createDemoProduct('rw_sequences', SEQUENCES);
});
afterAll(() => demo.stop());

const outcome = (sql: string, policies: PolicySnapshot = analystPolicy): RewriteOutcome =>
  rewrite(sql, demo.context(policies));
const numbers = (name: string): string[] =>
  (demo.catalog.relation('public', name)?.numbers ?? [])
    .map((n) => `${demo.catalog.relationByOid(n.relation)!.name}.${n.column}`)
    .sort();

test('the catalog knows what each sequence numbers, and lists no sequence among the relations holding rows', () => {
  expect(numbers('customer_number')).toEqual(['customers.id']);
  expect(numbers('tickets_id_seq')).toEqual(['tickets.id']);
  expect(numbers('order_ref')).toEqual(['orders.ref']);
  expect(numbers('notes_n_seq')).toEqual(['notes.n']);
  expect(numbers('standalone')).toEqual([]);
  expect(demo.catalog.all().filter((r) => r.kind === 'S')).toEqual([]);
});

test('golden: a sequence of unprotected columns, or of none, is read as it is', () => {
  expect(outcome('SELECT last_value, is_called FROM tickets_id_seq')).toMatchObject({
    kind: 'plan',
    sql: 'SELECT last_value, is_called FROM public.tickets_id_seq',
  });
  expect(outcome('SELECT last_value FROM standalone')).toMatchObject({
    kind: 'plan',
    sql: 'SELECT last_value FROM public.standalone',
  });
  expect(outcome('SELECT last_value FROM notes_n_seq')).toMatchObject({
    kind: 'plan',
    sql: 'SELECT last_value FROM public.notes_n_seq',
  });
});

test('a sequence numbering filtered rows or masked values is withheld, also through a view', () => {
  expect(outcome('SELECT last_value FROM customer_number')).toMatchObject({
    kind: 'refusal',
    sqlstate: '42501',
    reasons: ['sequence_of_protected'],
    message:
      'sequence "public.customer_number" numbers column "id" of "public.customers", whose rows are filtered for you, so its value is withheld (pg_dump: --exclude-table-data=public.customer_number)',
  });
  expect(outcome('SELECT * FROM customer_counter')).toMatchObject({
    kind: 'refusal',
    reasons: ['sequence_of_protected'],
  });
  // orders has no row filter for this policy; its ref column is masked: the value bounds what the mask hides.
  const maskedRef = staticPolicy({ 'public.orders': { columns: { ref: { kind: 'hash' } } } });
  expect(outcome('SELECT last_value FROM order_ref', maskedRef)).toMatchObject({
    kind: 'refusal',
    message:
      'sequence "public.order_ref" numbers column "ref" of "public.orders", whose values are transformed (hash) for you, so its value is withheld (pg_dump: --exclude-table-data=public.order_ref)',
  });
  // A mask on another column of the table hides nothing the value tells.
  expect(outcome('SELECT last_value FROM order_ref')).toMatchObject({ kind: 'plan' });
  const denied = staticPolicy({ 'public.notes': { access: 'deny' } });
  expect(outcome('SELECT last_value FROM notes_n_seq', denied)).toMatchObject({
    kind: 'refusal',
    message: expect.stringContaining('of "public.notes", which is denied for you'),
  });
});

test('for a principal who reads raw, every sequence and the view over one are read as they are', async () => {
  const raw = staticPolicy({});
  expect(outcome('SELECT last_value FROM customer_number', raw)).toMatchObject({
    kind: 'plan',
    sql: 'SELECT last_value FROM public.customer_number',
  });
  expect(outcome('SELECT * FROM customer_counter', raw)).toMatchObject({
    kind: 'plan',
    sql: 'SELECT * FROM public.customer_counter',
  });
  expect((await demo.client.query('SELECT last_value FROM public.customer_number')).rows).toEqual([
    { last_value: '1' },
  ]);
});

test('pg_sequences and pg_sequence_last_value, which show any sequence past this check, are refused', () => {
  expect(outcome('SELECT sequencename, last_value FROM pg_sequences')).toMatchObject({
    kind: 'refusal',
    reasons: ['refused_catalog'],
  });
  expect(outcome("SELECT pg_sequence_last_value('public.tickets_id_seq')", staticPolicy({}))).toMatchObject({
    kind: 'refusal',
    reasons: ['refused_function'],
  });
});
