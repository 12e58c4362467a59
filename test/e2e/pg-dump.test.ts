/**
 * pg_dump through pgveil, with the machine's pg_dump 15 against the machine's PostgreSQL 15 (a
 * pg_dump must be at least as new as the server it dumps; the demo's bundled server is checked in
 * test/cli/demo.test.ts). The steward (raw reads) gets a dump equal to the source; the analyst gets
 * a dump whose data is exactly what the analyst's own SELECTs through pgveil return, and which
 * holds no canary of a masked value or a hidden row. Every dump restores into an empty database.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';
import { createTestDatabase, PG_HOST, PG_PORT, PG_SUPERUSER } from '../support/postgres';
import { CANARY_SQL, leakedCanaries } from '../adversarial/canaries';

const run = promisify(execFile);

/**
 * What pg_dump needs through pgveil: pgveil's own helper schema left out (see docs/pg-dump.md).
 * Nothing else for a principal whose policy reads raw.
 */
const THROUGH_PGVEIL = ['--exclude-schema=pgveil'];

/**
 * The analyst may not read the sequences that number rows or columns their policy hides: the one
 * owned by customers.id (rows filtered) and the identity of orders.line (rows filtered).
 */
const WITHHELD_FROM_ANALYST = [
  '--exclude-table-data=public.customer_number',
  '--exclude-table-data=public.orders_line_seq',
];

// An analyst sees the orders of the customers they see: the dump then keeps its foreign key.
const ORDERS_OF_VISIBLE_CUSTOMERS = `
  - id: sales-region-orders
    domain: sales
    tables: [public.orders]
    unless: { attribute: region, equals: "*" }
    rows: { sql: "customer_id IN (SELECT c.id FROM public.customers c WHERE c.region = $1)", params: [ { user: region } ] }
`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('pg_dump', {
    extraSql: `${CANARY_SQL}
      CREATE SEQUENCE public.invoice_number START 500;
      SELECT pg_catalog.nextval('public.invoice_number');
      CREATE TABLE public.tickets (id serial PRIMARY KEY, subject text NOT NULL);
      INSERT INTO public.tickets (subject) VALUES ('printer'), ('login'), ('refund');
      CREATE SEQUENCE public.customer_number START 2000 OWNED BY public.customers.id;
      SELECT pg_catalog.setval('public.customer_number', 2417);
      ALTER TABLE public.orders ADD COLUMN line integer GENERATED ALWAYS AS IDENTITY (START WITH 10);
      CREATE VIEW public.eu_customers AS SELECT id, name, email FROM public.customers WHERE region = 'EU';
      GRANT SELECT ON public.eu_customers TO PUBLIC;`,
    policyYaml: (demo) =>
      demo
        .replace('\nsubscriptions:', `${ORDERS_OF_VISIBLE_CUSTOMERS}\nsubscriptions:`)
        // The steward reads everything raw: card numbers too.
        .replace('for everyone.\n', 'for everyone but stewards.\n    unless: { group: stewards }\n'),
  });
});
afterAll(() => stack.stop());

async function pgDump(user: 'analyst' | 'steward', args: readonly string[]): Promise<string> {
  const flags = user === 'analyst' ? [...THROUGH_PGVEIL, ...WITHHELD_FROM_ANALYST] : THROUGH_PGVEIL;
  const { stdout } = await run(
    'pg_dump',
    ['-h', '127.0.0.1', '-p', String(stack.port), '-U', user, '-d', 'demo', ...flags, ...args],
    {
      env: { ...process.env, PGPASSWORD: user, PGSSLMODE: 'disable' },
      maxBuffer: 256 * 1024 * 1024,
      encoding: 'latin1',
    },
  );
  return stdout;
}

/** Restores a plain dump (psql) or an archive (pg_restore) into a new database, reads it with `read`, drops it. */
async function restoreThen<T>(
  dump: string,
  format: 'plain' | 'custom',
  read: (client: Client) => Promise<T>,
): Promise<T> {
  const target = await createTestDatabase('pg_dump_restore');
  try {
    const file = join(stack.dir, `restore-${target.name}.${format === 'plain' ? 'sql' : 'dump'}`);
    writeFileSync(file, Buffer.from(dump, 'latin1'));
    const connection = ['-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_SUPERUSER, '-d', target.name];
    if (format === 'plain') await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...connection, '-f', file]);
    else await run('pg_restore', ['--exit-on-error', ...connection, file]);
    const client = new Client(target.config());
    await client.connect();
    try {
      return await read(client);
    } finally {
      await client.end();
    }
  } finally {
    await target.drop();
  }
}

/** The restored database's rows of each table, and its sequences' values (`sequences`). */
const restored = (
  dump: string,
  format: 'plain' | 'custom',
  tables: readonly string[],
): Promise<Record<string, unknown[]>> =>
  restoreThen(dump, format, async (client) => ({
    ...(await rowsOf(client, tables)),
    sequences: await sequenceValues(client),
  }));

async function rowsOf(client: Client, tables: readonly string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of tables) out[table] = (await client.query(`SELECT * FROM public.${table} ORDER BY id`)).rows;
  return out;
}

/** Each sequence's name, last_value and is_called (what pg_dump reads and restores), read directly. */
async function sequenceValues(
  client: Client,
): Promise<Array<{ name: string; last_value: string; is_called: boolean }>> {
  const names = (
    await client.query(
      "SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' ORDER BY 1",
    )
  ).rows as Array<{ name: string }>;
  const out = [];
  for (const { name } of names)
    out.push({
      name,
      ...((await client.query(`SELECT last_value::text, is_called FROM ${name}`)).rows[0] as {
        last_value: string;
        is_called: boolean;
      }),
    });
  return out;
}

async function sourceRows(tables: readonly string[]): Promise<Record<string, unknown[]>> {
  const client = new Client(stack.db.config());
  await client.connect();
  try {
    return { ...(await rowsOf(client, tables)), sequences: await sequenceValues(client) };
  } finally {
    await client.end();
  }
}

/** What the analyst reads through pgveil, and the sequence values their dump restores. */
async function analystRows(tables: readonly string[]): Promise<Record<string, unknown[]>> {
  const analyst = await stack.connect('analyst');
  try {
    const source = (await sourceRows([])).sequences as Array<{ name: string; last_value: string; is_called: boolean }>;
    // Withheld sequences restore as created (their start, not called); the others as the source.
    const start: Record<string, string> = { 'public.customer_number': '2000', 'public.orders_line_seq': '10' };
    const sequences = source.map((q) =>
      start[q.name] ? { name: q.name, last_value: start[q.name], is_called: false } : q,
    );
    return { ...(await rowsOf(analyst, tables)), sequences };
  } finally {
    await analyst.end();
  }
}

const TABLES = ['customers', 'orders', 'tickets'];

describe('the steward (raw reads) dumps the data product whole', () => {
  test('plain: restores into an empty database equal to the source, views and every sequence value included', async () => {
    const dump = await pgDump('steward', []);
    expect(dump).toContain('CREATE VIEW public.eu_customers AS');
    expect(dump).toContain('CREATE SEQUENCE public.invoice_number');
    expect(dump).toContain("SELECT pg_catalog.setval('public.customer_number', 2417, true);");
    expect(dump).toContain("SELECT pg_catalog.setval('public.orders_line_seq', 3009, true);");
    expect(dump).not.toContain('CREATE SCHEMA pgveil');
    const rows = await restored(dump, 'plain', [...TABLES, 'eu_customers']);
    const source = await sourceRows([...TABLES, 'eu_customers']);
    expect(rows).toEqual(source);
    expect(rows.customers).toHaveLength(1000);
    expect(rows.orders).toHaveLength(3000);
    expect(rows.sequences).toEqual([
      { name: 'public.customer_number', last_value: '2417', is_called: true },
      { name: 'public.invoice_number', last_value: '500', is_called: true },
      { name: 'public.orders_line_seq', last_value: '3009', is_called: true },
      { name: 'public.tickets_id_seq', last_value: '3', is_called: true },
    ]);
  });

  test('custom format (-Fc): pg_restore gives back the source, sequences included', async () => {
    const dump = await pgDump('steward', ['-Fc']);
    expect(dump.startsWith('PGDMP')).toBe(true);
    expect(await restored(dump, 'custom', TABLES)).toEqual(await sourceRows(TABLES));
  });

  test('--inserts (a cursor over SELECT * FROM ONLY): restores equal to the source, sequences included', async () => {
    const dump = await pgDump('steward', ['--inserts']);
    expect(dump).toContain(
      "INSERT INTO public.customers VALUES (1, 'ZQ7NAME-US', 'zq7canary.us.mail@example.com', 'ZQ7SSN-US-992'",
    );
    expect(await restored(dump, 'plain', TABLES)).toEqual(await sourceRows(TABLES));
  });

  test('-t: one table and the sequence it owns, nothing else', async () => {
    const dump = await pgDump('steward', ['-t', 'public.customers']);
    expect(dump).not.toContain('CREATE TABLE public.orders');
    expect(dump).not.toContain('invoice_number');
    const rows = await restored(dump, 'plain', ['customers']);
    expect(rows).toEqual({
      customers: (await sourceRows(['customers'])).customers,
      sequences: [{ name: 'public.customer_number', last_value: '2417', is_called: true }],
    });
  });
});

describe('the analyst dumps exactly what pgveil shows them', () => {
  test('plain: masked, hashed, EU rows only; restores with its foreign key; no canary anywhere in the file', async () => {
    const dump = await pgDump('analyst', []);
    expect(leakedCanaries(dump)).toEqual([]);
    const seen = await analystRows(TABLES);
    expect(seen.customers).toHaveLength(333);
    expect(new Set(seen.customers!.map((c) => (c as { region: string }).region))).toEqual(new Set(['EU']));
    expect((seen.customers![0] as { email: string; ssn: string }).email).toBe('z****************@example.com');
    expect((seen.customers![0] as { ssn: string }).ssn).toMatch(/^[0-9a-f]{64}$/);
    expect(seen.tickets).toHaveLength(3);
    // Sequences of unprotected columns (tickets.id, the unowned invoice_number) are dumped with their values.
    expect(dump).toContain("SELECT pg_catalog.setval('public.tickets_id_seq', 3, true);");
    expect(dump).toContain("SELECT pg_catalog.setval('public.invoice_number', 500, true);");
    expect(dump).not.toMatch(/setval\('public\.(customer_number|orders_line_seq)'/);
    expect(await restored(dump, 'plain', TABLES)).toEqual(seen);
  });

  test('--inserts and -Fc: the same rows, and no canary in the archive either', async () => {
    const inserts = await pgDump('analyst', ['--inserts']);
    expect(leakedCanaries(inserts)).toEqual([]);
    const seen = await analystRows(TABLES);
    expect(await restored(inserts, 'plain', TABLES)).toEqual(seen);
    // The archive is compressed: its text form is what to search.
    const archive = await pgDump('analyst', ['-Fc', '-Z0']);
    expect(leakedCanaries(archive)).toEqual([]);
    expect(await restored(archive, 'custom', TABLES)).toEqual(seen);
  });

  test('-t: one table as the analyst sees it', async () => {
    const dump = await pgDump('analyst', ['-t', 'public.tickets']);
    expect(await restored(dump, 'plain', ['tickets'])).toEqual({
      tickets: (await analystRows(['tickets'])).tickets,
      sequences: [{ name: 'public.tickets_id_seq', last_value: '3', is_called: true }],
    });
  });

  test('the dump names tags in column comments (readable anyway) but no statistics', async () => {
    const dump = await pgDump('analyst', []);
    expect(dump).toContain("COMMENT ON COLUMN public.customers.ssn IS 'pgveil:tags=pii.ssn';");
    expect(dump).not.toMatch(/pg_statistic|most_common_vals|histogram_bounds/);
  });
});

describe('what pg_dump must be told, and why it fails closed otherwise', () => {
  const dumpWith = (user: 'analyst' | 'steward', args: readonly string[]): Promise<unknown> =>
    run(
      'pg_dump',
      ['-h', '127.0.0.1', '-p', String(stack.port), '-U', user, '-d', 'demo', '-f', '/dev/null', ...args],
      {
        env: { ...process.env, PGPASSWORD: user, PGSSLMODE: 'disable' },
      },
    );

  test('without --exclude-schema=pgveil it stops at the helper schema, saying what to add', async () => {
    await expect(dumpWith('steward', [])).rejects.toMatchObject({
      stderr: expect.stringContaining(
        'relation "pgveil.hash_key" is reserved for pgveil: to dump through pgveil, leave its schema out (pg_dump --exclude-schema=pgveil)',
      ),
    });
    expect(readFileSync(stack.auditFile, 'utf8')).toContain('LOCK TABLE pgveil.hash_key IN ACCESS SHARE MODE');
  });

  test('subscriptions are counted, never dumped, and their connection strings cannot be read', async () => {
    const admin = new Client(stack.db.config());
    await admin.connect();
    const name = `zq7sub_${stack.db.name}`;
    try {
      await admin.query(
        `CREATE SUBSCRIPTION ${name} CONNECTION 'host=192.0.2.1 dbname=x user=repl password=ZQ7CONNINFO-SECRET' PUBLICATION p WITH (connect = false)`,
      );
      const { stdout, stderr } = await run(
        'pg_dump',
        ['-h', '127.0.0.1', '-p', String(stack.port), '-U', 'steward', '-d', 'demo', ...THROUGH_PGVEIL],
        {
          env: { ...process.env, PGPASSWORD: 'steward', PGSSLMODE: 'disable' },
          maxBuffer: 256 * 1024 * 1024,
        },
      );
      // pg_dump run by a role that is not a superuser counts them and says it leaves them out.
      expect(stderr).toContain('subscriptions not dumped because current user is not a superuser');
      expect(stdout).not.toMatch(/ZQ7CONNINFO|CREATE SUBSCRIPTION/);
      const steward = await stack.connect('steward');
      try {
        expect(
          (await steward.query(`SELECT subname, subenabled FROM pg_catalog.pg_subscription WHERE subname = '${name}'`))
            .rows,
        ).toEqual([{ subname: name, subenabled: false }]);
        const all = (await steward.query('SELECT * FROM pg_subscription')).rows;
        expect(all.length).toBeGreaterThan(0);
        expect(JSON.stringify(all)).not.toContain('ZQ7CONNINFO');
        await expect(steward.query('SELECT subconninfo FROM pg_subscription')).rejects.toMatchObject({
          code: '42703',
          message: 'column "subconninfo" does not exist',
        });
        await expect(steward.query('SELECT s.subconninfo FROM pg_catalog.pg_subscription s')).rejects.toMatchObject({
          code: '42703',
        });
        await expect(
          steward.query('SELECT c FROM pg_subscription AS s(a, b, c, d, e, f, g, h, i, j, c)'),
        ).rejects.toMatchObject({ code: '42501' });
      } finally {
        await steward.end();
      }
    } finally {
      await admin.query(`ALTER SUBSCRIPTION ${name} SET (slot_name = NONE)`).catch(() => undefined);
      await admin.query(`DROP SUBSCRIPTION IF EXISTS ${name}`);
      await admin.end();
    }
  });

  test("the analyst's dump stops at a sequence numbering rows their policy hides, naming the flag", async () => {
    await expect(dumpWith('analyst', [...THROUGH_PGVEIL, WITHHELD_FROM_ANALYST[1]!])).rejects.toMatchObject({
      stderr: expect.stringContaining(
        'sequence "public.customer_number" numbers column "id" of "public.customers", whose rows are filtered for you, so its value is withheld (pg_dump: --exclude-table-data=public.customer_number)',
      ),
    });
    await expect(dumpWith('analyst', [...THROUGH_PGVEIL, WITHHELD_FROM_ANALYST[0]!])).rejects.toMatchObject({
      stderr: expect.stringContaining(
        'sequence "public.orders_line_seq" numbers column "line" of "public.orders", whose rows are filtered for you',
      ),
    });
  });
});

describe('sequence values through pgveil, as any client reads them', () => {
  const read = async (user: 'analyst' | 'steward', sql: string): Promise<unknown> => {
    const client = await stack.connect(user);
    try {
      return (await client.query(sql)).rows;
    } catch (error) {
      return { code: (error as { code?: string }).code, message: (error as Error).message };
    } finally {
      await client.end();
    }
  };

  test('a sequence of unprotected columns, or of none, is read as it is', async () => {
    expect(await read('analyst', 'SELECT last_value, is_called FROM tickets_id_seq')).toEqual([
      { last_value: '3', is_called: true },
    ]);
    expect(await read('analyst', 'SELECT last_value FROM public.invoice_number')).toEqual([{ last_value: '500' }]);
    expect(await read('steward', 'SELECT last_value FROM customer_number')).toEqual([{ last_value: '2417' }]);
  });

  test('one that numbers filtered rows is withheld, also inside a sub-query; pg_sequences and pg_sequence_last_value are refused', async () => {
    expect(await read('analyst', 'SELECT last_value FROM customer_number')).toMatchObject({
      code: '42501',
      message: expect.stringContaining('sequence "public.customer_number" numbers column "id" of "public.customers"'),
    });
    expect(await read('analyst', 'SELECT (SELECT last_value FROM public.orders_line_seq) AS n')).toMatchObject({
      code: '42501',
    });
    expect(await read('steward', 'SELECT last_value FROM pg_sequences')).toMatchObject({
      code: '42501',
      message: expect.stringContaining('relation "pg_catalog.pg_sequences" is not allowed through pgveil'),
    });
    expect(await read('steward', "SELECT pg_sequence_last_value('public.tickets_id_seq')")).toMatchObject({
      code: '42501',
      message: expect.stringContaining('function "pg_sequence_last_value" is not allowed through pgveil'),
    });
  });

  test('nextval and setval stay impossible: the service account may only read sequences', async () => {
    expect(await read('steward', "SELECT nextval('public.tickets_id_seq')")).toMatchObject({
      code: '42501',
      message: expect.stringContaining('permission denied for sequence tickets_id_seq'),
    });
    expect(await read('steward', "SELECT setval('public.tickets_id_seq', 1)")).toMatchObject({
      code: '42501',
      message: expect.stringContaining('permission denied for sequence tickets_id_seq'),
    });
  });
});

describe('large objects', () => {
  test('listed like any catalog row, their contents unreadable: a data product holding one needs --no-blobs', async () => {
    const admin = new Client(stack.db.config());
    await admin.connect();
    try {
      const { oid } = (await admin.query("SELECT pg_catalog.lo_from_bytea(0, 'ZQ7BLOB-SECRET') AS oid")).rows[0] as {
        oid: number;
      };
      try {
        await admin.query(`GRANT SELECT ON LARGE OBJECT ${oid} TO ${stack.serviceRole}`);
        const failure = await run(
          'pg_dump',
          ['-h', '127.0.0.1', '-p', String(stack.port), '-U', 'steward', '-d', 'demo', ...THROUGH_PGVEIL],
          {
            env: { ...process.env, PGPASSWORD: 'steward', PGSSLMODE: 'disable' },
            maxBuffer: 256 * 1024 * 1024,
          },
        ).then(
          () => undefined,
          (error: { stderr: string; stdout: string }) => error,
        );
        expect(failure?.stderr).toContain(`could not open large object ${oid}`);
        expect(failure?.stdout ?? '').not.toContain('ZQ7BLOB');
        const dump = await pgDump('steward', ['--no-blobs']);
        expect(dump).not.toContain('lo_create');
      } finally {
        await admin.query('SELECT pg_catalog.lo_unlink($1)', [oid]);
      }
    } finally {
      await admin.end();
    }
  });
});
