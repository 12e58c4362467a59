/**
 * Functions through the whole product (the demo stack with planted canaries): the canary is refused
 * on the wire and a listed function runs, while psql's \d family, pgJDBC's DatabaseMetaData and
 * SQLAlchemy's reflection, which call only system functions, keep working.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';
import { FUNCTION_CANARIES_SQL, HIDDEN_CUSTOMER, HIDDEN_SSN } from '../support/function-canaries';

const run = promisify(execFile);
let stack: Stack;
let analyst: Client;

const withAllowedFunctions = (demo: string): string =>
  demo.replace(
    '    # Tags can also live here',
    '    allowedFunctions: [public.safe_double]\n    # Tags can also live here',
  );

beforeAll(async () => {
  stack = await startStack('proxy_functions', { extraSql: FUNCTION_CANARIES_SQL, policyYaml: withAllowedFunctions });
  analyst = await stack.connect('analyst');
});

afterAll(async () => {
  await analyst.end();
  await stack.stop();
});

async function refused(sql: string): Promise<{ code: string; message: string }> {
  const error = await analyst.query(sql).then<undefined, { code: string; message: string }>(
    () => undefined,
    (e: { code: string; message: string }) => e,
  );
  if (!error) throw new Error(`not refused: ${sql}`);
  return { code: error.code, message: error.message };
}

test('the canary is refused through the proxy wherever it appears, and the session goes on', async () => {
  // Sanity: upstream, the service account's call returns the hidden customer's raw SSN. The stack
  // provisions as `pgveil provision` does, which already revokes EXECUTE on functions the policy
  // does not allow: it is granted back here, as on an upstream set up by hand, so that what stops
  // the canary below is the guard alone.
  const upstream = new Client(stack.db.config());
  await upstream.connect();
  try {
    await expect(upstream.query(`SET ROLE ${stack.serviceRole}; SELECT public.leak_ssn(1)`)).rejects.toMatchObject({
      code: '42501',
    });
    await upstream.query('RESET ROLE');
    await upstream.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ${stack.serviceRole}`);
    await upstream.query(`SET ROLE ${stack.serviceRole}`);
    expect((await upstream.query('SELECT public.leak_ssn($1) AS ssn', [HIDDEN_CUSTOMER])).rows).toEqual([
      { ssn: HIDDEN_SSN },
    ]);
  } finally {
    await upstream.end();
  }
  const message =
    'function "public.leak_ssn" is not allowed through pgveil: it runs with the service account\'s rights and is not listed in allowedFunctions of data product "demo"';
  expect(await refused(`SELECT public.leak_ssn(${HIDDEN_CUSTOMER})`)).toEqual({ code: '42501', message });
  for (const sql of [
    'SELECT * FROM public.leak_ssns()',
    `SELECT id FROM customers WHERE public.leak_ssn(${HIDDEN_CUSTOMER}) LIKE '8%'`,
    'SELECT id FROM customers ORDER BY public.leak_ssn(id) LIMIT 1',
    `SELECT (SELECT public.leak_ssn(${HIDDEN_CUSTOMER}))`,
    'SELECT ssn FROM leaky_notes',
  ]) {
    expect(await refused(sql)).toMatchObject({ code: '42501', message: expect.stringContaining('"public.leak_ssn') });
  }
  expect(await refused("SELECT name FROM customers WHERE name === 'x'")).toMatchObject({
    code: '42501',
    message: expect.stringContaining('operator "public.===" runs function "public.leak_match(text, text)"'),
  });
  expect(await refused(`SELECT ${HIDDEN_CUSTOMER}::ssn_card`)).toMatchObject({
    code: '42501',
    message: expect.stringContaining('cast to "public.ssn_card" runs function "public.to_ssn_card(integer)"'),
  });
  expect(await refused('SELECT lower(name) FROM customers LIMIT 1')).toMatchObject({
    code: '42501',
    message: expect.stringContaining('function "public.lower" (a candidate for "lower" on the search_path)'),
  });
  expect(await refused('SELECT other_schema.lower(name) FROM customers LIMIT 1')).toMatchObject({
    code: '42501',
    message: expect.stringContaining('function "other_schema.lower"'),
  });
  await analyst.query('SET search_path TO other_schema, public');
  expect(await refused("SELECT lower('A')")).toMatchObject({
    code: '42501',
    message: expect.stringContaining('function "other_schema.lower"'),
  });
  await analyst.query('SET search_path TO "$user", public');
  // The listed function runs; pg_catalog's run as before.
  expect(
    (await analyst.query("SELECT safe_double(21) AS v, pg_catalog.lower('AB') AS l, upper('cd') AS u")).rows,
  ).toEqual([{ v: 42, l: 'ab', u: 'CD' }]);
  // The refusals were audited as security events.
  const events = readFileSync(stack.eventsFile, 'utf8');
  expect(events).toContain('function_not_allowed');
});

const psql = (...args: string[]) =>
  run(
    'psql',
    [
      '-X',
      '-h',
      '127.0.0.1',
      '-p',
      String(stack.port),
      '-U',
      'analyst',
      '-d',
      'demo',
      '-v',
      'ON_ERROR_STOP=1',
      ...args,
    ],
    {
      env: { ...process.env, PGPASSWORD: 'analyst', PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' },
    },
  );

test.each([
  ['\\d', /public \| customers\s+\| table/],
  ['\\d customers', /Table "public\.customers"/],
  ['\\d+ customers', /pgveil:tags=pii\.ssn/],
  ['\\d leaky_notes', /View "public\.leaky_notes"/],
  ['\\dt', /public \| notes\s+\| table/],
  ['\\dv', /public \| leaky_notes\s+\| view/],
  ['\\di', /customers_region_idx/],
  ['\\df', /public\s+\| leak_ssn\s+\| text\s+\| customer_id integer/],
  ['\\df+ safe_double', /safe_double/],
  ['\\do', /public\s+\| ===\s+\| text/],
  ['\\dT', /public \| ssn_card/],
  ['\\dD', /public \| checked_text/],
  ['\\dC ssn_card', /integer\s+\| ssn_card/],
  ['\\dn', /other_schema/],
  ['\\dp customers', /public \| customers \| table/],
  ['\\dx', /plpgsql/],
  ['\\l', /demo|List of databases/],
  ['\\da', /percentile_ssn/],
  ['\\dc', /List of conversions/],
  ['\\dd', /Object descriptions/],
  ['\\dF', /List of text search configurations/],
  ['\\dL', /plpgsql/],
  ['\\dg', /List of roles/],
  ['\\dy', /List of event triggers/],
  ['\\dA', /btree/],
  ['\\dRp', /List of publications/],
  ['\\des', /List of foreign servers/],
  ['\\dO', /List of collations/],
  ['\\sf public.safe_double', /CREATE OR REPLACE FUNCTION public\.safe_double/],
  ['\\sv public.plain_notes', /CREATE OR REPLACE VIEW public\.plain_notes/],
])('psql %s works through pgveil', async (command, expected) => {
  const { stdout } = await psql('-c', command);
  expect(stdout).toMatch(expected);
});

test('pgJDBC DatabaseMetaData works through pgveil; the canary is refused', async () => {
  const { stdout } = await run(
    'java',
    [
      '-cp',
      '/usr/share/java/postgresql.jar',
      join(__dirname, 'clients', 'JdbcMetadata.java'),
      String(stack.port),
      'demo',
    ],
    { timeout: 120_000 },
  );
  const lines = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
  );
  expect(lines.product).toBe('PostgreSQL');
  for (const [call, result] of Object.entries(lines)) {
    if (call === 'product' || call === 'leak_ssn') continue;
    expect({ call, result }).toEqual({ call, result: expect.not.stringMatching(/^ERROR/) });
  }
  expect(lines.getTables).toMatch(/^6 /);
  expect(lines.getColumns).toMatch(/^8 null\|public\|customers\|id$/);
  expect(lines.getPrimaryKeys).toMatch(/^1 /);
  expect(lines.getImportedKeys).toMatch(/^1 /);
  expect(lines.getFunctions).toMatch(/^11 [^|]+\|public\|echo\|null$/);
  expect(lines.leak_ssn).toMatch(/^ERROR 42501 .*function "public\.leak_ssn" is not allowed through pgveil/);
}, 180_000);

test('SQLAlchemy reflection works through pgveil; the canary is refused', async () => {
  const { stdout } = await run(
    '/usr/bin/python3',
    [join(__dirname, 'clients', 'sqlalchemy_reflect.py'), String(stack.port), 'demo'],
    { timeout: 120_000 },
  );
  const seen = JSON.parse(stdout) as Record<string, unknown>;
  expect(seen).toMatchObject({
    tables: ['customers', 'notes', 'orders'],
    views: ['leaky_notes', 'leaky_notes_again', 'plain_notes'],
    columns: ['id', 'name', 'email', 'ssn', 'phone', 'region', 'birth_date', 'created_at'],
    pk: ['id'],
    fks: [['customers', ['customer_id']]],
    indexes: ['customers_region_idx'],
    view_definition: true,
    reflected: ['customers', 'notes', 'orders'],
  });
  expect(seen.schemas).toEqual(expect.arrayContaining(['public', 'other_schema', 'lookalike']));
  expect(seen.leak_ssn).toEqual([
    '42501',
    expect.stringContaining('function "public.leak_ssn" is not allowed through pgveil'),
  ]);
}, 180_000);
