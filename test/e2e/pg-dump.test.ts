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
 * What pg_dump needs through pgveil: pgveil's own helper schema, subscriptions and large objects
 * left out, and the values of sequences, which pgveil does not let anyone read (see docs/pg-dump.md).
 */
const THROUGH_PGVEIL = ['--exclude-schema=pgveil', '--no-subscriptions', '--no-blobs', '--exclude-table-data=public.invoice_number'];

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
  const { stdout } = await run('pg_dump', ['-h', '127.0.0.1', '-p', String(stack.port), '-U', user, '-d', 'demo', ...THROUGH_PGVEIL, ...args], {
    env: { ...process.env, PGPASSWORD: user, PGSSLMODE: 'disable' },
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'latin1',
  });
  return stdout;
}

/** Restores a plain dump (psql) or an archive (pg_restore) into a new database; returns that database's rows. */
async function restored(dump: string, format: 'plain' | 'custom', tables: readonly string[]): Promise<Record<string, unknown[]>> {
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
      return await rowsOf(client, tables);
    } finally {
      await client.end();
    }
  } finally {
    await target.drop();
  }
}

async function rowsOf(client: Client, tables: readonly string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of tables) out[table] = (await client.query(`SELECT * FROM public.${table} ORDER BY id`)).rows;
  return out;
}

async function sourceRows(tables: readonly string[]): Promise<Record<string, unknown[]>> {
  const client = new Client(stack.db.config());
  await client.connect();
  try {
    return await rowsOf(client, tables);
  } finally {
    await client.end();
  }
}

async function analystRows(tables: readonly string[]): Promise<Record<string, unknown[]>> {
  const analyst = await stack.connect('analyst');
  try {
    return await rowsOf(analyst, tables);
  } finally {
    await analyst.end();
  }
}

describe('the steward (raw reads) dumps the data product whole', () => {
  test('plain: restores into an empty database equal to the source, views and sequences included', async () => {
    const dump = await pgDump('steward', []);
    expect(dump).toContain('CREATE VIEW public.eu_customers AS');
    expect(dump).toContain('CREATE SEQUENCE public.invoice_number');
    expect(dump).not.toContain('setval');
    expect(dump).not.toContain('CREATE SCHEMA pgveil');
    const rows = await restored(dump, 'plain', ['customers', 'orders', 'eu_customers']);
    expect(rows).toEqual(await sourceRows(['customers', 'orders', 'eu_customers']));
    expect(rows.customers).toHaveLength(1000);
    expect(rows.orders).toHaveLength(3000);
  });

  test('custom format (-Fc): pg_restore gives back the source', async () => {
    const dump = await pgDump('steward', ['-Fc']);
    expect(dump.startsWith('PGDMP')).toBe(true);
    expect(await restored(dump, 'custom', ['customers', 'orders'])).toEqual(await sourceRows(['customers', 'orders']));
  });

  test('--inserts (a cursor over SELECT * FROM ONLY): restores equal to the source', async () => {
    const dump = await pgDump('steward', ['--inserts']);
    expect(dump).toContain("INSERT INTO public.customers VALUES (1, 'ZQ7NAME-US', 'zq7canary.us.mail@example.com', 'ZQ7SSN-US-992'");
    expect(await restored(dump, 'plain', ['customers', 'orders'])).toEqual(await sourceRows(['customers', 'orders']));
  });

  test('-t: one table, nothing else', async () => {
    const dump = await pgDump('steward', ['-t', 'public.customers']);
    expect(dump).not.toContain('CREATE TABLE public.orders');
    expect(await restored(dump, 'plain', ['customers'])).toEqual(await sourceRows(['customers']));
  });
});

describe('the analyst dumps exactly what pgveil shows them', () => {
  test('plain: masked, hashed, EU rows only; restores with its foreign key; no canary anywhere in the file', async () => {
    const dump = await pgDump('analyst', []);
    expect(leakedCanaries(dump)).toEqual([]);
    const seen = await analystRows(['customers', 'orders']);
    expect(seen.customers).toHaveLength(333);
    expect(new Set(seen.customers!.map((c) => (c as { region: string }).region))).toEqual(new Set(['EU']));
    expect((seen.customers![0] as { email: string; ssn: string }).email).toBe('z****************@example.com');
    expect((seen.customers![0] as { ssn: string }).ssn).toMatch(/^[0-9a-f]{64}$/);
    expect(await restored(dump, 'plain', ['customers', 'orders'])).toEqual(seen);
  });

  test('--inserts and -Fc: the same rows, and no canary in the archive either', async () => {
    const inserts = await pgDump('analyst', ['--inserts']);
    expect(leakedCanaries(inserts)).toEqual([]);
    const seen = await analystRows(['customers', 'orders']);
    expect(await restored(inserts, 'plain', ['customers', 'orders'])).toEqual(seen);
    // The archive is compressed: its text form is what to search.
    const archive = await pgDump('analyst', ['-Fc', '-Z0']);
    expect(leakedCanaries(archive)).toEqual([]);
    expect(await restored(archive, 'custom', ['customers', 'orders'])).toEqual(seen);
  });

  test('the dump names tags in column comments (readable anyway) but no statistics', async () => {
    const dump = await pgDump('analyst', []);
    expect(dump).toContain("COMMENT ON COLUMN public.customers.ssn IS 'pgveil:tags=pii.ssn';");
    expect(dump).not.toMatch(/pg_statistic|most_common_vals|histogram_bounds/);
  });
});

describe('what pg_dump must be told, and why it fails closed otherwise', () => {
  const dumpWith = (args: readonly string[]): Promise<unknown> =>
    run('pg_dump', ['-h', '127.0.0.1', '-p', String(stack.port), '-U', 'steward', '-d', 'demo', '-f', '/dev/null', ...args], {
      env: { ...process.env, PGPASSWORD: 'steward', PGSSLMODE: 'disable' },
    });

  test('without --exclude-schema=pgveil it stops at the helper schema, saying what to add', async () => {
    await expect(dumpWith(['--no-subscriptions', '--no-blobs', '--exclude-table-data=public.invoice_number'])).rejects.toMatchObject({
      stderr: expect.stringContaining('relation "pgveil.hash_key" is reserved for pgveil: to dump through pgveil, leave its schema out (pg_dump --exclude-schema=pgveil)'),
    });
    expect(readFileSync(stack.auditFile, 'utf8')).toContain('LOCK TABLE pgveil.hash_key IN ACCESS SHARE MODE');
  });

  test('subscriptions (connection strings), large objects and sequence values stay refused', async () => {
    const all = ['--exclude-schema=pgveil', '--no-subscriptions', '--no-blobs', '--exclude-table-data=public.invoice_number'];
    const without = (flag: string): string[] => all.filter((a) => a !== flag);
    await expect(dumpWith(without('--no-subscriptions'))).rejects.toMatchObject({ stderr: expect.stringContaining('relation "pg_catalog.pg_subscription" is not allowed through pgveil') });
    await expect(dumpWith(without('--no-blobs'))).rejects.toMatchObject({ stderr: expect.stringContaining('relation "pg_catalog.pg_largeobject_metadata" is not allowed through pgveil') });
    await expect(dumpWith(without('--exclude-table-data=public.invoice_number'))).rejects.toMatchObject({
      stderr: expect.stringContaining('relation "public.invoice_number" does not exist'),
    });
  });
});
