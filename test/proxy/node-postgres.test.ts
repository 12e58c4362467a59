import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startProxyHarness, REFUSE_MARKER, type ProxyHarness } from '../support/proxy-harness';

let db: TestDatabase;
let proxy: ProxyHarness;

const client = (user = 'analyst', password = user): Client =>
  new Client({ host: '127.0.0.1', port: proxy.port, user, password, database: db.name });

beforeAll(async () => {
  db = await createTestDatabase('proxy_pg');
  await db.exec(
    `CREATE TABLE items (id int PRIMARY KEY, label text); INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 50) i`,
  );
  proxy = await startProxyHarness(db.name);
});

afterAll(async () => {
  await proxy.stop();
  await db.drop();
});

test('parameters, named statements and several queries in flight on one client', async () => {
  const c = client();
  await c.connect();
  try {
    const results = await Promise.all([
      c.query('SELECT label FROM items WHERE id = $1', [7]),
      c.query({ name: 'by-id', text: 'SELECT id, label FROM items WHERE id = $1', values: [3] }),
      c.query({ name: 'by-id', text: 'SELECT id, label FROM items WHERE id = $1', values: [4] }),
      c.query('SELECT count(*)::int AS n FROM items'),
    ]);
    expect(results[0].rows).toEqual([{ label: 'item 7' }]);
    expect(results[1].rows).toEqual([{ id: 3, label: 'item 3' }]);
    expect(results[2].rows).toEqual([{ id: 4, label: 'item 4' }]);
    expect(results[3].rows).toEqual([{ n: 50 }]);
  } finally {
    await c.end();
  }
});

test('the analyst sees their own name as session_authorization, and the records count rows', async () => {
  const c = client();
  await c.connect();
  try {
    const before = proxy.records.length;
    const r = await c.query('SELECT id FROM items ORDER BY id LIMIT 5');
    expect(r.rows.map((row) => row.id)).toEqual([1, 2, 3, 4, 5]);
    const record = proxy.records.slice(before).find((x) => x.sql === 'SELECT id FROM items ORDER BY id LIMIT 5');
    expect(record?.rows).toBe(5);
    expect(record?.session.principal.user).toBe('analyst');
  } finally {
    await c.end();
  }
});

test('a refused statement yields its ErrorResponse and the session stays usable, in and out of pipelines', async () => {
  const c = client();
  await c.connect();
  try {
    await expect(c.query(`SELECT '${REFUSE_MARKER}'`)).rejects.toMatchObject({
      code: '42501',
      message: `statement refused by test rule: "${REFUSE_MARKER}"`,
    });
    await expect(c.query(`SELECT $1::text AS x -- ${REFUSE_MARKER}`, ['a'])).rejects.toMatchObject({ code: '42501' });
    const settled = await Promise.allSettled([
      c.query('SELECT 1 AS one'),
      c.query(`SELECT 2 AS two /* ${REFUSE_MARKER} */`, []),
      c.query('SELECT $1::int AS three', [3]),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await c.query('SELECT 42 AS answer')).rows).toEqual([{ answer: 42 }]);
    expect(proxy.forwarded.some((sql) => sql.includes(REFUSE_MARKER))).toBe(false);
  } finally {
    await c.end();
  }
});

test('a refused statement inside a transaction aborts it, as a failing statement does in PostgreSQL', async () => {
  const c = client();
  await c.connect();
  try {
    await c.query('BEGIN');
    await expect(c.query(`SELECT '${REFUSE_MARKER}'`)).rejects.toMatchObject({ code: '42501' });
    await expect(c.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
    await c.query('ROLLBACK');
    expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  } finally {
    await c.end();
  }
});

test('wrong password and unknown user fail the same way with 28P01', async () => {
  const wrong = client('analyst', 'nope');
  const unknown = client('mallory', 'nope');
  await expect(wrong.connect()).rejects.toMatchObject({
    code: '28P01',
    message: 'password authentication failed for user "analyst"',
  });
  await expect(unknown.connect()).rejects.toMatchObject({
    code: '28P01',
    message: 'password authentication failed for user "mallory"',
  });
  const kinds = proxy.events.filter((e) => e.kind === 'auth_failure').map((e) => e.user);
  expect(kinds).toEqual(expect.arrayContaining(['analyst', 'mallory']));
});

test('an unknown database is refused with 3D000 after authentication', async () => {
  const c = new Client({
    host: '127.0.0.1',
    port: proxy.port,
    user: 'analyst',
    password: 'analyst',
    database: 'no_such_product',
  });
  await expect(c.connect()).rejects.toMatchObject({ code: '3D000' });
});

test('errors from upstream relay unchanged and the session recovers', async () => {
  const c = client();
  await c.connect();
  try {
    await expect(c.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
    await expect(c.query('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
    expect((await c.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
  } finally {
    await c.end();
  }
});
