/**
 * `pgveil provision`: a data product's upstream set up from nothing, idempotently, with a dry run
 * that changes nothing and prints no secret; what the service account can and cannot do afterwards;
 * and serve's check that names a missing helper schema and the command that fixes it.
 * The command runs as a user runs it (the built `dist/cli/pgveil.js`; npm test builds first).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import pino from 'pino';
import { demoSchemaSql } from '../../cli/demo/demo-data';
import { loadServerConfig } from '../../cli/config/load-server-config';
import { loadPolicyFiles } from '../../policies';
import { provisionConfigured } from '../../cli/provision/provision-configured';
import { checkUpstreamProvisioning } from '../../cli/provision/check-upstream-provisioning';
import { startPgveil } from '../../cli/runtime/start-pgveil';
import { createTestDatabase, PG_HOST, PG_PORT, PG_SUPERUSER, withAdmin, type TestDatabase } from '../support/postgres';
import { startThrowawayPostgres } from '../support/throwaway-postgres';

const CLI = join(__dirname, '../../dist/cli/pgveil.js');
const ADMIN_SECRET = `admin-secret-${randomBytes(6).toString('hex')}`;
const pgveil = (...args: string[]) =>
  promisify(execFile)('node', [CLI, ...args], {
    env: { ...process.env, PGUSER: PG_SUPERUSER, PGPASSWORD: ADMIN_SECRET },
  });

const EXTRA_SQL = `
CREATE SCHEMA sales;
CREATE TABLE sales.targets (region text, amount integer);
INSERT INTO sales.targets VALUES ('EU', 10);
CREATE VIEW sales.eu_targets AS SELECT * FROM sales.targets WHERE region = 'EU';
CREATE FUNCTION public.leak_ssn(integer) RETURNS text LANGUAGE sql AS 'SELECT ssn FROM public.customers WHERE id = $1';
CREATE FUNCTION public.add_tax(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
CREATE FUNCTION public.add_tax(integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 3';
CREATE FUNCTION sales.shout(text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper($1)';
`;

interface Product {
  readonly db: TestDatabase;
  readonly dir: string;
  readonly config: string;
  readonly role: string;
  readonly password: string;
  connect(): Promise<Client>;
  stop(): Promise<void>;
}

async function product(prefix: string): Promise<Product> {
  const db = await createTestDatabase(prefix);
  await db.exec(demoSchemaSql + EXTRA_SQL);
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-provision-'));
  const role = `pgveil_prov_${randomBytes(4).toString('hex')}`;
  const password = `service-secret-${randomBytes(8).toString('hex')}`;
  writeFileSync(join(dir, 'service.password'), password);
  writeFileSync(
    join(dir, 'policies.yaml'),
    `
tags: [pii.name, pii.email, pii.ssn, pii.phone, pii.birth_date, finance.card]
dataProducts:
  - name: sales_${prefix}
    domain: sales
    upstream: { host: ${PG_HOST}, port: ${PG_PORT}, database: ${db.name}, user: ${role}, passwordFile: service.password }
    allowedFunctions: [ "public.add_tax(numeric)", sales.shout ]
globalPolicies:
  - id: hash-ssn
    columns: [ { tags: [pii.ssn], action: { kind: hash } } ]
`,
  );
  writeFileSync(
    join(dir, 'pgveil.yaml'),
    'listen: { host: 127.0.0.1, port: 0 }\npolicies: [ policies.yaml ]\naudit: { file: audit.jsonl }\n',
  );
  return {
    db,
    dir,
    config: join(dir, 'pgveil.yaml'),
    role,
    password,
    async connect() {
      const c = new Client({ host: PG_HOST, port: PG_PORT, database: db.name, user: role, password });
      await c.connect();
      return c;
    },
    async stop() {
      await db.drop();
      await withAdmin((c) => c.query(`DROP ROLE IF EXISTS ${role}`));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const code = (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (e: { code?: string }) => e.code,
  );
const keyPads = (db: TestDatabase) =>
  withAdmin(async (c) => (await c.query('SELECT inner_pad, outer_pad FROM pgveil.hash_key')).rows, db.name);

describe('from nothing', () => {
  let p: Product;
  beforeAll(async () => {
    p = await product('prov');
  });
  afterAll(() => p.stop());

  test('--dry-run prints the SQL, changes nothing, and shows no secret', async () => {
    const { stdout } = await pgveil('provision', '--config', p.config, '--dry-run');
    expect(stdout).toContain(
      `CREATE ROLE "${p.role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS;`,
    );
    expect(stdout).toContain(
      `ALTER ROLE "${p.role}" PASSWORD '<SCRAM-SHA-256 verifier of the password from passwordFile ${join(p.dir, 'service.password')}>';`,
    );
    expect(stdout).toContain(`REVOKE TEMPORARY ON DATABASE "${p.db.name}" FROM PUBLIC, "${p.role}";`);
    expect(stdout).toContain(
      `GRANT SELECT ON TABLE "public"."customers", "public"."orders", "sales"."eu_targets", "sales"."targets" TO "${p.role}";`,
    );
    expect(stdout).toContain('CREATE SCHEMA "pgveil" AUTHORIZATION "pgveil_owner";');
    expect(stdout).toContain(
      'INSERT INTO "pgveil".hash_key (inner_pad, outer_pad) VALUES ($1, $2);\n--   $1, $2: the HMAC pads of a new random 32-byte key, sent as bind parameters and never printed',
    );
    expect(stdout).toContain(`REVOKE EXECUTE ON FUNCTION public.leak_ssn(integer) FROM PUBLIC, "${p.role}";`);
    expect(stdout).toContain(`REVOKE EXECUTE ON FUNCTION public.add_tax(integer) FROM PUBLIC, "${p.role}";`);
    expect(stdout).toContain(`GRANT EXECUTE ON FUNCTION public.add_tax(numeric) TO "${p.role}";`);
    expect(stdout).toContain(`GRANT EXECUTE ON FUNCTION sales.shout(text) TO "${p.role}";`);
    expect(stdout).toMatch(/dry run, \d+ statement\(s\) would run; nothing was changed\n$/);
    expect(stdout).not.toContain(p.password);
    expect(stdout).not.toContain(ADMIN_SECRET);
    expect(stdout).not.toContain('SCRAM-SHA-256$');
    const state = await withAdmin(
      async (c) =>
        (
          await c.query(
            `SELECT (SELECT count(*) FROM pg_roles WHERE rolname = $1)::int AS roles, (SELECT count(*) FROM pg_namespace WHERE nspname = 'pgveil')::int AS schemas,
              has_function_privilege('public', 'public.leak_ssn(integer)', 'EXECUTE') AS public_executes`,
            [p.role],
          )
        ).rows[0],
      p.db.name,
    );
    expect(state).toEqual({ roles: 0, schemas: 0, public_executes: true });
  });

  test('provisions the data product; the service account reads and can do nothing else', async () => {
    const { stdout } = await pgveil('provision', '--config', p.config);
    expect(stdout).toMatch(new RegExp(`-- sales_prov: \\d+ statement\\(s\\) applied in one transaction\\n$`));
    expect(stdout).not.toContain(p.password);
    const c = await p.connect();
    try {
      expect((await c.query('SELECT count(*)::int AS n FROM public.customers')).rows).toEqual([{ n: 1000 }]);
      expect((await c.query('SELECT amount FROM sales.eu_targets')).rows).toEqual([{ amount: 10 }]);
      expect((await c.query('SELECT public.add_tax(10.5) AS v, sales.shout($1) AS s', ['eu'])).rows).toEqual([
        { v: '21.0', s: 'EU' },
      ]);
      expect((await c.query("SELECT pgveil.keyed_hash('x') ~ '^[0-9a-f]{64}$' AS ok")).rows).toEqual([{ ok: true }]);
      expect(await code(c.query('CREATE TEMP TABLE t (x integer)'))).toBe('42501');
      expect(await code(c.query('CREATE TABLE public.t (x integer)'))).toBe('42501');
      expect(await code(c.query('CREATE TABLE sales.t (x integer)'))).toBe('42501');
      expect(await code(c.query('CREATE FUNCTION pgveil.f() RETURNS int LANGUAGE sql AS $$SELECT 1$$'))).toBe('42501');
      expect(await code(c.query('CREATE SCHEMA mine'))).toBe('42501');
      expect(await code(c.query('SELECT public.leak_ssn(3)'))).toBe('42501');
      expect(await code(c.query('SELECT public.add_tax(3)'))).toBe('42501');
      expect(await code(c.query('SELECT * FROM pgveil.hash_key'))).toBe('42501');
      expect(await code(c.query("INSERT INTO sales.targets VALUES ('US', 1)"))).toBe('42501');
      expect(await code(c.query('DELETE FROM public.orders'))).toBe('42501');
      expect(await code(c.query('SET ROLE pgveil_owner'))).toBe('42501');
    } finally {
      await c.end();
    }
    const role = await withAdmin(
      async (c) =>
        (
          await c.query(
            `SELECT rolsuper, rolinherit, rolcreatedb, rolcreaterole, rolcanlogin, rolreplication, rolbypassrls,
              (SELECT count(*) FROM pg_auth_members WHERE member = r.oid)::int AS memberships
       FROM pg_roles r WHERE rolname = $1`,
            [p.role],
          )
        ).rows,
    );
    expect(role).toEqual([
      {
        rolsuper: false,
        rolinherit: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolcanlogin: true,
        rolreplication: false,
        rolbypassrls: false,
        memberships: 0,
      },
    ]);
  });

  test('running it again changes nothing, says so, and keeps the key', async () => {
    const before = await keyPads(p.db);
    expect(before).toHaveLength(1);
    const { stdout } = await pgveil('provision', '--config', p.config, '--product', 'sales_prov');
    expect(stdout).toBe(
      `-- data product "sales_prov" at ${PG_HOST}:${PG_PORT}/${p.db.name}, service account "${p.role}"\n-- sales_prov: already provisioned, nothing to change\n`,
    );
    expect(await keyPads(p.db)).toEqual(before);
    const dry = await pgveil('provision', '--config', p.config, '--dry-run');
    expect(dry.stdout).toContain('already provisioned, nothing to change');
  });

  test('an administrator that cannot connect is an error naming the data product, and nothing else is printed', async () => {
    await expect(pgveil('provision', '--config', p.config, '--admin-user', 'no_such_admin')).rejects.toMatchObject({
      code: 1,
      stdout: '',
      stderr: `pgveil: data product "sales_prov" (${PG_HOST}:${PG_PORT}/${p.db.name}) was not provisioned: role "no_such_admin" does not exist\n`,
    });
  });

  test('an unknown --product is an error naming the declared ones', async () => {
    await expect(pgveil('provision', '--config', p.config, '--product', 'nope')).rejects.toMatchObject({
      code: 1,
      stderr: 'pgveil: no data product "nope" in the policy files (declared: "sales_prov")\n',
    });
  });

  test('serve names a missing helper schema and the command that fixes it, at start and after a reload', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const findings = () =>
      lines
        .map((l) => JSON.parse(l) as { level: number; msg: string; fix?: string; problem?: string })
        .filter((l) => l.fix !== undefined);
    const fix = `pgveil provision --config ${p.config} --product sales_prov`;
    const running = await startPgveil(loadServerConfig(p.config), log);
    try {
      expect(findings()).toEqual([]); // provisioned: nothing to say
      await withAdmin((c) => c.query('DROP SCHEMA pgveil CASCADE'), p.db.name);
      writeFileSync(join(p.dir, 'policies.yaml'), `${readFileSync(join(p.dir, 'policies.yaml'), 'utf8')}\n# touched\n`);
      expect(running.policies.reload()).toBe(true);
      for (let i = 0; i < 200 && findings().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(findings()).toEqual(
        [
          {
            level: 50,
            dataProduct: 'sales_prov',
            upstream: `${PG_HOST}:${PG_PORT}/${p.db.name}`,
            problem: `the helper schema "pgveil" is missing: hashed columns fail with 'schema "pgveil" does not exist'`,
            fix,
            msg: `data product "sales_prov" (${PG_HOST}:${PG_PORT}/${p.db.name}): the helper schema "pgveil" is missing: hashed columns fail with 'schema "pgveil" does not exist'; fix: ${fix}`,
          },
        ].map((f) => expect.objectContaining(f)),
      );
    } finally {
      await running.close();
    }
    lines.length = 0;
    const restarted = await startPgveil(loadServerConfig(p.config), log);
    await restarted.close();
    expect(findings().map((f) => [f.level, f.problem])).toEqual([
      [50, `the helper schema "pgveil" is missing: hashed columns fail with 'schema "pgveil" does not exist'`],
    ]);
    // The command it names puts the helper back, with a new key (the old one went with the schema).
    const { stdout } = await pgveil('provision', '--config', p.config, '--product', 'sales_prov');
    expect(stdout).toContain('CREATE SCHEMA "pgveil"');
    const config = loadServerConfig(p.config);
    const bundle = loadPolicyFiles(config.policies);
    expect(
      await checkUpstreamProvisioning(bundle.dataProducts.get('sales_prov')!, {
        helperSchema: 'pgveil',
        hashes: true,
        fixCommand: fix,
      }),
    ).toEqual([]);
  });
});

test('an existing service account with too many rights is brought back to read-only, and says what it revoked', async () => {
  const p = await product('provfix');
  try {
    await withAdmin(async (c) => {
      await c.query(`CREATE ROLE ${p.role} LOGIN CREATEDB INHERIT PASSWORD 'old'`);
      await c.query(`GRANT pg_read_all_settings TO ${p.role}`);
      await c.query(`GRANT TEMPORARY, CREATE ON DATABASE ${p.db.name} TO ${p.role}`);
    });
    await withAdmin(async (c) => {
      await c.query(`GRANT CREATE ON SCHEMA public TO ${p.role}`);
      await c.query(`GRANT INSERT, DELETE ON public.customers TO ${p.role}`);
    }, p.db.name);
    const bundle = loadPolicyFiles(loadServerConfig(p.config).policies);
    const declared = bundle.dataProducts.get('sales_provfix')!;
    const check = () =>
      checkUpstreamProvisioning(declared, { helperSchema: 'pgveil', hashes: true, fixCommand: 'fix' });
    expect((await check()).map((f) => [f.level, f.problem])).toEqual([
      ['error', `the helper schema "pgveil" is missing: hashed columns fail with 'schema "pgveil" does not exist'`],
      ['warn', 'the service account may create temporary tables (TEMPORARY on the database)'],
      ['warn', 'the service account may create schemas (CREATE on the database)'],
      ['warn', 'the service account may create objects in schema(s) "public"'],
      ['warn', 'the service account is a member of "pg_read_all_settings"'],
      [
        'warn',
        'the service account cannot read 4 relation(s) of the data product, created since the last provisioning?: public.customers, public.orders, sales.eu_targets, sales.targets',
      ],
      [
        'warn',
        'the service account may execute 2 function(s) the policy does not allow: public.add_tax(integer), public.leak_ssn(integer)',
      ],
    ]);
    const [result] = await provisionConfigured(loadServerConfig(p.config), { admin: { user: PG_SUPERUSER } });
    const whys = result!.steps.map((s) => s.why);
    expect(whys).toContain('the service account may log in and do nothing else');
    expect(whys).toContain(
      'the service account was a member of "pg_read_all_settings": membership revoked (it must hold no rights but reading)',
    );
    expect(whys).toContain(`the service account's password (from passwordFile ${join(p.dir, 'service.password')})`);
    expect(result!.steps.map((s) => s.sql)).toEqual(
      expect.arrayContaining([
        `REVOKE "pg_read_all_settings" FROM "${p.role}"`,
        `REVOKE CREATE ON DATABASE "${p.db.name}" FROM PUBLIC, "${p.role}"`,
        `REVOKE CREATE ON SCHEMA "public" FROM PUBLIC, "${p.role}"`,
        `REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE "public"."customers" FROM PUBLIC, "${p.role}"`,
      ]),
    );
    expect(await check()).toEqual([]);
    const c = await p.connect(); // the password from the file now works
    try {
      expect(await code(c.query('CREATE TEMP TABLE t (x integer)'))).toBe('42501');
      expect(await code(c.query('DELETE FROM public.customers'))).toBe('42501');
      expect(await code(c.query("SELECT current_setting('data_directory')"))).toBe('42501');
    } finally {
      await c.end();
    }
    const [again] = await provisionConfigured(loadServerConfig(p.config), { admin: { user: PG_SUPERUSER } });
    expect(again!.steps).toEqual([]);
    // No default privileges: a table created afterwards stays unreadable until provisioning runs again,
    // and serve says so.
    await p.db.exec('CREATE TABLE sales.newer (x integer)');
    expect((await check()).map((f) => [f.level, f.problem])).toEqual([
      [
        'warn',
        'the service account cannot read 1 relation(s) of the data product, created since the last provisioning?: sales.newer',
      ],
    ]);
    const [third] = await provisionConfigured(loadServerConfig(p.config), { admin: { user: PG_SUPERUSER } });
    expect(third!.steps.map((s) => s.sql)).toEqual([`GRANT SELECT ON TABLE "sales"."newer" TO "${p.role}"`]);
    expect(await check()).toEqual([]);
  } finally {
    await p.stop();
  }
});

test('over SCRAM: the admin password comes from --admin-password-file, the service account logs in with its own, and a second run leaves it alone', async () => {
  const superuserPassword = `super-${randomBytes(6).toString('hex')}`;
  const server = await startThrowawayPostgres(25400 + (process.pid % 1000), { password: superuserPassword });
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-provision-scram-'));
  try {
    const admin = server.client();
    await admin.connect();
    await admin.query('CREATE DATABASE sales');
    await admin.end();
    const servicePassword = `svc-${randomBytes(6).toString('hex')}`;
    writeFileSync(join(dir, 'service.password'), servicePassword);
    writeFileSync(join(dir, 'admin.password'), `${superuserPassword}\n`);
    writeFileSync(
      join(dir, 'policies.yaml'),
      `
tags: [pii.ssn]
dataProducts:
  - { name: sales, domain: sales, upstream: { host: 127.0.0.1, port: ${server.port}, database: sales, user: pgveil_svc, passwordFile: service.password } }
globalPolicies:
  - { id: hash-ssn, columns: [ { tags: [pii.ssn], action: { kind: hash } } ] }
`,
    );
    writeFileSync(join(dir, 'pgveil.yaml'), 'policies: [ policies.yaml ]\n');
    const config = join(dir, 'pgveil.yaml');
    // $PGPASSWORD (set by the helper) is wrong here: the file must win, and neither is printed.
    const first = await pgveil(
      'provision',
      '--config',
      config,
      '--admin-user',
      'postgres',
      '--admin-password-file',
      join(dir, 'admin.password'),
    );
    expect(first.stdout).toContain(
      `ALTER ROLE "pgveil_svc" PASSWORD '<SCRAM-SHA-256 verifier of the password from passwordFile ${join(dir, 'service.password')}>';`,
    );
    for (const secret of [superuserPassword, servicePassword, ADMIN_SECRET]) expect(first.stdout).not.toContain(secret);
    const login = async (password: string): Promise<string> => {
      const c = new Client({ host: '127.0.0.1', port: server.port, database: 'sales', user: 'pgveil_svc', password });
      try {
        await c.connect();
        return String((await c.query("SELECT pgveil.keyed_hash('x') IS NOT NULL AS ok")).rows[0].ok);
      } catch (error) {
        return (error as { code?: string }).code ?? 'error';
      } finally {
        await c.end().catch(() => undefined);
      }
    };
    expect(await login(servicePassword)).toBe('true');
    expect(await login('not-the-password')).toBe('28P01');
    const second = await pgveil('provision', '--config', config, '--admin-password-file', join(dir, 'admin.password'));
    expect(second.stdout).toContain('-- sales: already provisioned, nothing to change');
    const wrongAdmin = pgveil('provision', '--config', config, '--admin-user', 'postgres');
    await expect(wrongAdmin).rejects.toMatchObject({
      code: 1,
      stderr: `pgveil: data product "sales" (127.0.0.1:${server.port}/sales) was not provisioned: password authentication failed for user "postgres"\n`,
    });
  } finally {
    await server.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});
