/**
 * A system function that runs SQL text it is given runs a statement pgveil never rewrote, with the
 * service account's rights. `ts_rewrite(query, 'SELECT target, substitute FROM ...')` is one: its
 * second argument is executed, and the substitutes it reads come back in the answer. Found while
 * checking issue #12 point 6 as an attacker would: it returned customer 3's raw SSN and the e-mail
 * of a customer outside the analyst's region. The three-argument form runs no SQL and stays usable.
 */
import { Client } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';

let stack: Stack;
let rawSsn = '';
beforeAll(async () => {
  stack = await startStack('sql_text_functions');
  const admin = new Client(stack.db.config());
  await admin.connect();
  rawSsn = (await admin.query('SELECT ssn FROM public.customers WHERE id = 3')).rows[0].ssn as string;
  await admin.end();
});
afterAll(async () => stack.stop());

const LEAK_SSN = "'SELECT ''x''::tsquery, quote_literal(ssn)::tsquery FROM public.customers WHERE id = 3'";
const LEAK_OTHER_REGION =
  "'SELECT ''x''::tsquery, quote_literal(email)::tsquery FROM public.customers WHERE region <> ''EU'' LIMIT 1'";

test('the statement leaks when run directly upstream: the guard has something to stop', async () => {
  const admin = new Client(stack.db.config());
  await admin.connect();
  try {
    expect((await admin.query(`SELECT ts_rewrite('x'::tsquery, ${LEAK_SSN})::text AS v`)).rows).toEqual([
      { v: `'${rawSsn}'` },
    ]);
  } finally {
    await admin.end();
  }
});

test.each([
  ['unqualified', `SELECT ts_rewrite('x'::tsquery, ${LEAK_SSN}) AS v`],
  ['qualified', `SELECT pg_catalog.ts_rewrite('x'::tsquery, ${LEAK_OTHER_REGION}) AS v`],
  ['in WHERE', `SELECT id FROM customers WHERE ts_rewrite('x'::tsquery, ${LEAK_SSN})::text LIKE '%7%'`],
  ['with the query in a parameter', { text: "SELECT ts_rewrite('x'::tsquery, $1) AS v", values: ['SELECT 1'] }],
])('ts_rewrite with a query, %s, is refused', async (_how, query) => {
  const analyst = await stack.connect('analyst');
  try {
    await expect(analyst.query(query)).rejects.toMatchObject({
      code: '42501',
      message:
        'function "ts_rewrite" is not allowed through pgveil: with two arguments it runs its second as SQL text, a statement pgveil never sees',
    });
    expect((await analyst.query('SELECT 1 AS still_here')).rows).toEqual([{ still_here: 1 }]);
  } finally {
    await analyst.end();
  }
});

test('ts_rewrite with a target and a substitute runs no SQL and stays usable', async () => {
  const analyst = await stack.connect('analyst');
  try {
    expect(
      (await analyst.query("SELECT ts_rewrite('a & b'::tsquery, 'a'::tsquery, 'c'::tsquery)::text AS v")).rows,
    ).toEqual([{ v: "'b' & 'c'" }]);
  } finally {
    await analyst.end();
  }
});
