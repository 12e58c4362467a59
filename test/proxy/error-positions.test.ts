/**
 * Error positions refer to the analyst's text: upstream's position into the rewritten text is moved
 * to the same token of what the analyst sent (comments, white space, multi-byte characters,
 * several statements in one Query, the extended protocol), so psql's caret points at it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';

const run = promisify(execFile);
let stack: Stack;
let analyst: Client;

beforeAll(async () => {
  stack = await startStack('proxy_positions');
  analyst = await stack.connect('analyst');
});

afterAll(async () => {
  await analyst.end();
  await stack.stop();
});

interface Failure {
  readonly code: string;
  readonly message: string;
  readonly position: string | undefined;
}

async function failure(query: string | { text: string; values: unknown[] }): Promise<Failure> {
  const error = await analyst.query(query).then(
    () => undefined,
    (e: { code: string; message: string; position?: string }) => e,
  );
  if (!error) throw new Error('statement did not fail');
  return { code: error.code, message: error.message, position: error.position };
}

test.each([
  // sql, the token the position must name, its 1-based character position in sql
  ['SELECT   /* a comment */   nosuch    FROM customers', 'nosuch', 28],
  ['SELECT c.name,\n       c.ssn + 1\n  FROM customers c -- protected', '+', 29],
  ["SELECT 'été' AS e, /* ünïcode */ c.nosuch FROM customers c", 'c.nosuch', 34],
  ["SELECT id FROM   orders   WHERE   customer_id = 'abc'", "'abc'", 49],
  ['SELECT 1;\n\n  -- the second statement fails\n  SELECT count(*) FROM orders GROUP BY nosuch', 'nosuch', 83],
])('simple protocol: %j fails at %j', async (sql, token, position) => {
  // The expected position is the token's own, counted in characters as PostgreSQL counts them.
  expect(Array.from(sql.slice(0, sql.lastIndexOf(token))).length + 1).toBe(position);
  expect((await failure(sql)).position).toBe(String(position));
});

test('extended protocol: the Parse error carries the analyst position', async () => {
  const text = 'SELECT  /* x */  c.email,   c.nosuch FROM customers c WHERE c.id = $1';
  expect(await failure({ text, values: [3] })).toEqual({
    code: '42703',
    message: 'column c.nosuch does not exist',
    position: '29',
  });
});

test('psql puts its caret under the analyst token', async () => {
  const sql = 'SELECT   /* a comment */   c.name, nosuch FROM customers c';
  const error = await run(
    'psql',
    ['-X', '-h', '127.0.0.1', '-p', String(stack.port), '-U', 'analyst', '-d', 'demo', '-c', sql],
    {
      env: { ...process.env, PGPASSWORD: 'analyst', PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' },
    },
  ).then(
    () => undefined,
    (e: { stderr: string }) => e.stderr,
  );
  expect(error).toBe(
    [
      'ERROR:  column "nosuch" does not exist',
      'LINE 1: SELECT   /* a comment */   c.name, nosuch FROM customers c',
      '                                           ^',
      '',
    ].join('\n'),
  );
});

test.each([
  ['SELECT  /* é */  name FROM FROM customers', 'syntax error at or near "FROM"', 28],
  ['SELECT 1;\n  SELECT (name FROM customers', 'syntax error at or near "FROM"', 26],
  ["SELECT 'ü' +", 'syntax error at end of input', 13],
])('a syntax error pgveil refuses itself carries the position PostgreSQL gives: %j', async (sql, message, position) => {
  const direct = new Client(stack.db.config());
  await direct.connect();
  const upstream = await direct.query(sql).then(
    () => undefined,
    (e: { message: string; position: string }) => ({ message: e.message, position: e.position }),
  );
  await direct.end();
  expect(upstream).toEqual({ message, position: String(position) });
  expect(await failure(sql)).toEqual({
    code: '42601',
    message: `statement could not be parsed: ${message}`,
    position: String(position),
  });
});

test('extended protocol: a syntax error in a Parse carries its position', async () => {
  expect(await failure({ text: 'SELECT  /* é */  name FROM FROM customers', values: [] })).toEqual({
    code: '42601',
    message: 'statement could not be parsed: syntax error at or near "FROM"',
    position: '28',
  });
});
