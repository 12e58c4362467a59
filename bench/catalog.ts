/**
 * `npm run bench:catalog`: how long each catalog page takes for a data product of 200 tables (12
 * columns each, a third of them tagged), 8 users, demo-like rules, 10,000 kept events and a day of
 * statements, served over HTTP by the admin server with the bearer token. The target is 100 ms per
 * page; the baseline measured in the same run is reading the same catalog from PostgreSQL directly
 * (what every catalog refresh costs). Written to its own section of bench/RESULTS.md. Needs the
 * machine's PostgreSQL (127.0.0.1:5432, trust); its database is dropped afterwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { loadCatalog } from '../rewriter';
import { loadPolicyFiles } from '../policies';
import { startAdminServer, PgveilMetrics } from '../ops';
import { createCatalog } from '../catalog';
import type { StatementRecord } from '../proxy/statement-gate';
import { writeResultsSection } from './results-section';

const PG = {
  host: process.env.PGVEIL_TEST_PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGVEIL_TEST_PGPORT ?? 5432),
  user: process.env.PGVEIL_TEST_PGUSER ?? 'postgres',
};
const DB = 'pgveil_bench_catalog';
const TABLES = 200;
const COLUMNS = 12;
const USERS = 8;
const ITERATIONS = Number(process.env.PGVEIL_CATALOG_ITERATIONS ?? 40);
const HEADING = '## Catalog pages';
const TAGS = ['pii.email', 'pii.phone', 'pii.ssn', 'pii.name', 'finance.card', 'finance.iban'];

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function timed(fn: () => Promise<unknown>, iterations: number): Promise<number[]> {
  for (let i = 0; i < Math.ceil(iterations / 4); i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return samples.sort((a, b) => a - b);
}

function schemaSql(): string {
  const out: string[] = [];
  for (let t = 0; t < TABLES; t++) {
    const columns = Array.from({ length: COLUMNS }, (_, c) => `c${c} text`);
    out.push(
      `CREATE TABLE public.t${String(t).padStart(3, '0')} (id integer PRIMARY KEY, region text, ${columns.join(', ')});`,
    );
    for (let c = 0; c < COLUMNS; c += 3)
      out.push(
        `COMMENT ON COLUMN public.t${String(t).padStart(3, '0')}.c${c} IS 'pgveil:tags=${TAGS[(t + c) % TAGS.length]}';`,
      );
  }
  return out.join('\n');
}

function policyYaml(): string {
  const users = Array.from(
    { length: USERS },
    (_, i) =>
      `  - name: user${i}\n    groups: [${i % 2 === 0 ? 'analysts' : 'stewards'}]\n    attributes: { region: ${i % 2 === 0 ? 'EU' : '"*"'}${i % 4 === 1 ? ', clearance: pii' : ''} }`,
  );
  return `tags: [${TAGS.join(', ')}]
dataProducts:
  - name: big
    domain: sales
    upstream: { host: ${PG.host}, port: ${PG.port}, database: ${DB}, user: ${PG.user} }
globalPolicies:
  - id: mask-pii
    unless: { attribute: clearance, equals: pii }
    columns:
      - { tags: [pii.email], action: { kind: mask_email } }
      - { tags: [pii.ssn], action: { kind: hash } }
      - { tags: [pii.phone], action: { kind: mask, keepFirst: 0, keepLast: 4, maskChar: "*" } }
      - { tags: [pii.name], action: { kind: "null" } }
  - id: mask-finance
    columns:
      - { tags: [finance], action: { kind: mask, keepFirst: 0, keepLast: 4, maskChar: "*" } }
domainPolicies:
  - id: region-rows
    domain: sales
    unless: { attribute: region, equals: "*" }
    rows: { column: region, equals: { user: region } }
subscriptions:
  - { dataProduct: big, groups: [analysts, stewards] }
users:
${users.join('\n')}
`;
}

async function main(): Promise<void> {
  const admin = new Client({ ...PG, database: 'postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await admin.query(`CREATE DATABASE ${DB}`);
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-bench-catalog-'));
  const client = new Client({ ...PG, database: DB });
  const adminToken = 'bench-catalog-token-0123456789';
  let server: Awaited<ReturnType<typeof startAdminServer>> | undefined;
  try {
    await client.connect();
    await client.query(schemaSql());
    const readCatalog = await timed(() => loadCatalog(client), Math.max(10, ITERATIONS / 4));
    const snapshot = await loadCatalog(client);
    const policyFile = join(dir, 'policies.yaml');
    writeFileSync(policyFile, policyYaml());
    const bundle = loadPolicyFiles([policyFile]);
    const catalog = createCatalog({
      bundle: () => bundle,
      policyPaths: [policyFile],
      catalog: () => snapshot,
      helperSchema: 'pgveil',
      // The scan samples upstream in the background; the pages render whatever it has: a finished scan of no findings.
      scanUntagged: async () => ({ columns: [], unsampled: [] }),
      listener: { host: '127.0.0.1', port: 6432, tls: false },
    });
    const now = Date.now();
    for (let i = 0; i < 10_000; i++) {
      catalog.activity.event({
        time: new Date(now - i * 8000).toISOString(),
        kind: i % 3 === 0 ? 'statement_refused' : 'auth_failure',
        severity: 'high',
        actor: { user: `user${i % USERS}`, session: `s${i}`, client: '127.0.0.1' },
        dataProduct: 'big',
        message: `delete statements are not allowed through pgveil (${i})`,
        reasons: ['statement_class'],
      });
    }
    const reasons = [{ ruleId: 'mask-pii', scope: 'global' as const, column: 'c0', effect: 'mask_email' }];
    for (let i = 0; i < 20_000; i++) {
      const record = {
        session: { dataProduct: 'big', principal: { user: 'user0', groups: [], attributes: {} } },
        startedAt: new Date(now - (i % 1440) * 60_000),
        outcome:
          i % 10 === 0 ? { kind: 'refusal', reasons: [] } : { kind: 'plan', reasons, relations: ['public.t000'] },
      } as unknown as StatementRecord;
      catalog.activity.statement(record);
    }
    await catalog.scanner.idle();
    catalog.sources.untagged();
    await catalog.scanner.idle();
    server = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new PgveilMetrics(),
      readiness: () => [],
      token: adminToken,
      catalog: catalog.handler({ token: adminToken }),
    });
    const base = `http://127.0.0.1:${server.port}`;
    const pages = [
      '/catalog',
      '/catalog/products/big',
      '/catalog/events',
      '/catalog/events?kind=statement_refused&user=user2',
      '/catalog/principals/user0',
      '/catalog/policies',
    ];
    const rows: string[] = [];
    const read50 = quantile(readCatalog, 0.5);
    let worst = 0;
    for (const path of pages) {
      let bytes = 0;
      const samples = await timed(async () => {
        const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
        if (r.status !== 200) throw new Error(`${path} answered ${r.status}`);
        bytes = (await r.arrayBuffer()).byteLength;
      }, ITERATIONS);
      const p50 = quantile(samples, 0.5);
      const p99 = quantile(samples, 0.99);
      worst = Math.max(worst, p99);
      rows.push(
        `| \`${path}\` | ${(bytes / 1024).toFixed(0)} KB | ${p50.toFixed(1)} ms | ${p99.toFixed(1)} ms | ${(p50 / 100).toFixed(2)} | ${(p50 / read50).toFixed(2)} |`,
      );
    }
    const lines = [
      HEADING,
      '',
      `Measured ${new Date().toISOString()} on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}. Reproduce: \`npm run bench:catalog\` (${ITERATIONS} loads per page after ${Math.ceil(ITERATIONS / 4)} untimed).`,
      '',
      `One data product of ${TABLES} tables (${TABLES * (COLUMNS + 2)} columns, ${TABLES * Math.ceil(COLUMNS / 3)} tagged), ${USERS} users, 3 rules, 10,000 kept events, 20,000 statements over the last day; each page fetched over HTTP from the admin server with the bearer token (rendering, escaping and transfer). Baseline in the same run: reading this catalog from PostgreSQL directly, p50 ${read50.toFixed(1)} ms. Target: under 100 ms per page.`,
      '',
      '| page | size | p50 | p99 | p50 / 100 ms target | p50 / catalog read |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
      `Worst p99: **${worst.toFixed(1)} ms** (${worst < 100 ? 'under' : 'over'} the 100 ms target).`,
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    writeResultsSection(HEADING, lines);
  } finally {
    await server?.close();
    await client.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
