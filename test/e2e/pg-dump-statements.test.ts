/**
 * The statements pg_dump sends that pgveil refused before: `SELECT set_config(...)` as the SET it
 * amounts to (tracked like SET, so name resolution follows it), and `LOCK ... IN ACCESS SHARE MODE`.
 * Every other shape of set_config, and every stronger lock, stays refused.
 */
import type { Client } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';

let stack: Stack;
let analyst: Client;
beforeAll(async () => {
  stack = await startStack('pg_dump_statements');
  analyst = await stack.connect('analyst');
});
afterAll(async () => {
  await analyst.end();
  await stack.stop();
});

async function refusal(sql: string): Promise<{ code: string; message: string }> {
  try {
    await analyst.query(sql);
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { code, message };
  }
  throw new Error(`not refused: ${sql}`);
}

const count = async (): Promise<number> =>
  (await analyst.query('SELECT count(*)::int AS n FROM customers')).rows[0].n as number;

describe('set_config with constant arguments is a SET', () => {
  test("pg_dump's search_path call answers one row and pgveil resolves names with the new path", async () => {
    const answer = await analyst.query("SELECT pg_catalog.set_config('search_path', '', false)");
    expect(answer.rows).toEqual([{ set_config: '' }]);
    expect(await refusal('SELECT count(*) FROM customers')).toEqual({
      code: '42P01',
      message: 'relation "customers" does not exist',
    });
    expect((await analyst.query("SELECT set_config('search_path', 'public', false)")).rows).toEqual([
      { set_config: 'public' },
    ]);
    expect(await count()).toBe(333);
    expect((await analyst.query('SHOW search_path')).rows).toEqual([{ search_path: 'public' }]);
  });

  test('is_local lasts until the transaction ends, and a rollback undoes a session-wide call', async () => {
    await analyst.query('BEGIN');
    await analyst.query("SELECT set_config('search_path', '', true)");
    expect(await refusal('SELECT count(*) FROM customers')).toMatchObject({ code: '42P01' });
    await analyst.query('COMMIT');
    expect(await count()).toBe(333);
    await analyst.query('BEGIN');
    await analyst.query("SELECT set_config('search_path', 'pg_catalog', false)");
    await analyst.query('ROLLBACK');
    expect(await count()).toBe(333);
  });

  test('a quoted list value is split as PostgreSQL splits it', async () => {
    await analyst.query(`SELECT set_config('search_path', 'nowhere, "public"', false)`);
    expect(await count()).toBe(333);
    expect((await analyst.query('SHOW search_path')).rows).toEqual([{ search_path: 'nowhere, "public"' }]);
    await analyst.query('RESET search_path');
  });

  test("pg_dump's form over pg_settings works for a setting SET may change", async () => {
    const answer = await analyst.query(
      "SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'",
    );
    expect(answer.rows).toEqual([{ set_config: 'view, foreign-table' }]);
    await analyst.query('RESET restrict_nonsystem_relation_kind');
  });

  test.each([
    [
      "SELECT set_config('search_path', current_setting('search_path'), false)",
      'function "set_config" is not allowed through pgveil',
    ],
    ["SELECT set_config('search_path', 'public', false), 1", 'function "set_config" is not allowed through pgveil'],
    [
      "SELECT set_config('search_path', 'public', false) FROM customers",
      'function "set_config" is not allowed through pgveil',
    ],
    [
      "SELECT set_config(name, 'public', false) FROM pg_settings WHERE name LIKE 'search%'",
      'function "set_config" is not allowed through pgveil',
    ],
    [
      "SELECT set_config(name, 'x', false) FROM pg_settings WHERE name = 'search_path'",
      'set_config of "search_path" over pg_settings is not allowed through pgveil: use SET',
    ],
    [
      "SELECT set_config('session_authorization', 'postgres', false)",
      'setting "session_authorization" cannot be changed through pgveil',
    ],
    ["SELECT set_config('pgveil.hash_key', 'x', false)", 'setting "pgveil.hash_key" cannot be changed through pgveil'],
    [
      "SELECT set_config('search_path', 'public, pg_catalog', false)",
      'search_path must not place pg_catalog after other schemas',
    ],
    [
      "SELECT set_config('client_encoding', 'SJIS', false)",
      'client_encoding "SJIS" is not supported through pgveil: use UTF8',
    ],
    [
      "SELECT set_config('search_path', 'public, \"unterminated', false)",
      'invalid list syntax in setting "search_path": "public, "unterminated"',
    ],
  ])('refused: %s', async (sql, message) => {
    expect((await refusal(sql)).message).toContain(message);
    expect(await count()).toBe(333);
  });
});

describe('LOCK', () => {
  test('IN ACCESS SHARE MODE inside a transaction, for a relation the analyst may read', async () => {
    await analyst.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await analyst.query('LOCK TABLE public.customers, orders IN ACCESS SHARE MODE');
    expect(await count()).toBe(333);
    await analyst.query('COMMIT');
  });

  test('outside a transaction PostgreSQL itself refuses it', async () => {
    expect(await refusal('LOCK TABLE customers IN ACCESS SHARE MODE')).toEqual({
      code: '25P01',
      message: 'LOCK TABLE can only be used in transaction blocks',
    });
  });

  test.each([
    ['LOCK TABLE customers', 'LOCK is allowed through pgveil only IN ACCESS SHARE MODE'],
    ['LOCK TABLE customers IN ROW SHARE MODE', 'LOCK is allowed through pgveil only IN ACCESS SHARE MODE'],
    ['LOCK TABLE customers IN SHARE MODE NOWAIT', 'LOCK is allowed through pgveil only IN ACCESS SHARE MODE'],
    [
      'LOCK TABLE pg_catalog.pg_authid IN ACCESS SHARE MODE',
      'relation "pg_catalog.pg_authid" is not allowed through pgveil',
    ],
    ['LOCK TABLE pgveil.hash_key IN ACCESS SHARE MODE', 'relation "pgveil.hash_key" is reserved for pgveil'],
    ['LOCK TABLE no_such_table IN ACCESS SHARE MODE', 'relation "no_such_table" does not exist'],
  ])('refused: %s', async (sql, message) => {
    await analyst.query('BEGIN');
    try {
      expect((await refusal(sql)).message).toContain(message);
    } finally {
      await analyst.query('ROLLBACK');
    }
  });
});
