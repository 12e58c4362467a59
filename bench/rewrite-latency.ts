/**
 * Rewrite latency: for every corpus statement, a point query and BI-style queries on protected
 * tables, p50/p99 of libpg-query's bare parse, of a cold rewrite (no cache) and of a cached
 * rewrite, measured in the same process, with ratios to the bare parse.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { parseSync } from 'libpg-query';
import { initRewriter, loadCatalog, rewrite, RewriteCache, type RewriteContext } from '../rewriter';
import { literalsOf, normalizedText, splitAtParams } from '../rewriter/literal-template';
import { deparseStatement, parseStatements } from '../rewriter/sql-parser';
import { createPolicySnapshot } from '../policies';
import { TagTaxonomy } from '../policies/tag-taxonomy';
import type { PolicySnapshot } from '../policies/decision';

export interface LatencyRow {
  readonly id: string;
  readonly parseP50: number;
  readonly parseP99: number;
  /** Parse and print the statement unchanged: the least any parse-rewrite-print design costs. */
  readonly printFloorP50: number;
  /** Parse, print the rewritten tree, parse the printed text back: pgveil's design with no rewriting work. */
  readonly designFloorP50: number;
  readonly coldP50: number;
  readonly coldP99: number;
  readonly cachedP50: number;
  readonly cachedP99: number;
  /** The same statement with other integer literals, served from its literal template (NaN: no integer literal). */
  readonly literalP50: number;
  readonly literalP99: number;
}

/** The statement with every integer literal moved by `shift`, or undefined when it has none. */
function withOtherIntegers(sql: string, shift: number): string | undefined {
  const normalized = normalizedText(sql);
  if (normalized === undefined || normalized === sql) return undefined;
  const { segments } = splitAtParams(normalized);
  const literals = literalsOf(sql, segments);
  if (!literals?.some((l) => /^\d+$/.test(l))) return undefined;
  return segments[0] + literals.map((l, i) => (/^\d+$/.test(l) ? String(Number(l) + shift) : l) + segments[i + 1]!).join('');
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** Steady-state timings: a third as many untimed runs first, so the JIT has compiled what it runs. */
function time(fn: () => unknown, iterations: number): number[] {
  for (let i = 0; i < Math.ceil(iterations / 3); i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return samples.sort((a, b) => a - b);
}

/** Demo-like policies on pgbench_accounts and the demo tables. */
export function benchPolicies(): PolicySnapshot {
  return createPolicySnapshot(
    {
      dataProducts: [{ name: 'bench', domain: 'bench', upstream: { host: '127.0.0.1', port: 5432, database: 'bench', user: 'postgres' } }],
      globalPolicies: [
        { id: 'mask-filler', columns: [{ columns: ['pgbench_accounts.filler'], action: { kind: 'mask', keepFirst: 2, keepLast: 2, maskChar: '*' } }] },
        { id: 'mask-pii', columns: [{ tags: ['pii.email'], action: { kind: 'mask_email' } }, { tags: ['pii.ssn'], action: { kind: 'hash' } }] },
      ],
      domainPolicies: [
        { id: 'branch-rows', domain: 'bench', tables: ['pgbench_accounts'], rows: { column: 'bid', in: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] } },
        { id: 'region-rows', domain: 'bench', tables: ['customers'], rows: { column: 'region', equals: 'EU' } },
      ],
      subscriptions: [{ dataProduct: 'bench', users: ['analyst'] }],
      taxonomy: new TagTaxonomy(new Set(['pii.email', 'pii.ssn', 'pii.phone', 'pii.name', 'pii.birth_date', 'finance.card'])),
    },
    'bench-1',
  );
}

export const BI_QUERIES: ReadonlyArray<{ id: string; sql: string }> = [
  { id: 'point-query', sql: 'SELECT abalance FROM pgbench_accounts WHERE aid = 4711' },
  { id: 'bi-top-customers', sql: 'SELECT c.region, c.email, sum(o.amount) AS total FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 20' },
  { id: 'bi-monthly', sql: "SELECT date_trunc('month', o.ordered_at) AS m, count(*), avg(o.amount) FROM orders o WHERE o.status <> 'returned' GROUP BY 1 ORDER BY 1" },
  { id: 'bi-cohort', sql: 'WITH first AS (SELECT customer_id, min(ordered_at) AS f FROM orders GROUP BY 1) SELECT c.region, count(*) FROM first JOIN customers c ON c.id = first.customer_id GROUP BY 1' },
  { id: 'bi-search', sql: "SELECT id, name, email FROM customers WHERE name ILIKE '%ada%' ORDER BY id LIMIT 50" },
];

export async function measureRewriteLatency(client: Client, corpusDir: string, iterations = 300): Promise<LatencyRow[]> {
  await initRewriter();
  const catalog = await loadCatalog(client);
  const policies = benchPolicies();
  const load = (f: string): Array<{ id: string; sql: string }> => JSON.parse(readFileSync(join(corpusDir, f), 'utf8')) as Array<{ id: string; sql: string }>;
  const statements = [...BI_QUERIES, ...load('tpch.json'), ...load('psql-catalog.json'), ...load('pgjdbc.json')];
  const context = (searchPath: string[]): RewriteContext => ({
    principal: { user: 'analyst', groups: [], attributes: {} },
    dataProduct: 'bench',
    searchPath,
    catalog,
    policies,
    helperSchema: 'pgveil',
  });
  const rows: LatencyRow[] = [];
  for (const { id, sql } of statements) {
    const ctx = context(id.startsWith('tpch') ? ['tpch', 'public'] : ['$user', 'public']);
    const outcome = rewrite(sql, ctx);
    if (outcome.kind === 'refusal') throw new Error(`${id} refused: ${outcome.message}`);
    const cache = new RewriteCache();
    cache.get(sql, ctx, () => outcome);
    const parse = time(() => parseSync(sql), iterations);
    const rewrittenTrees = parseStatements(outcome.sql);
    const printFloor = time(() => parseStatements(sql).map((s) => deparseStatement(s.stmt)), iterations);
    const designFloor = time(() => {
      parseStatements(sql);
      for (const s of rewrittenTrees) parseStatements(deparseStatement(s.stmt));
    }, iterations);
    const cold = time(() => rewrite(sql, ctx), iterations);
    const cached = time(() => cache.get(sql, ctx, () => outcome), iterations * 10);
    // Only single SELECTs get a template (a SET or a transaction statement is rewritten each time).
    const variants = Array.from({ length: iterations * 3 }, (_, i) => withOtherIntegers(sql, i + 1));
    const templated = variants[0] !== undefined && (cache.get(variants[0], ctx, (text) => rewrite(text, ctx)), cache.literalHits === 1);
    let next = 1;
    // Served from the template, not from the exact-text cache: repeating a variant is still a template hit.
    const literal = templated ? time(() => cache.get(variants[next++ % variants.length]!, ctx, (text) => rewrite(text, ctx)), variants.length - 1) : [Number.NaN];
    if (templated && cache.literalHits < variants.length) throw new Error(`${id}: literal template not used (${cache.literalHits} of ${variants.length})`);
    rows.push({ id, parseP50: quantile(parse, 0.5), parseP99: quantile(parse, 0.99), printFloorP50: quantile(printFloor, 0.5), designFloorP50: quantile(designFloor, 0.5), coldP50: quantile(cold, 0.5), coldP99: quantile(cold, 0.99), cachedP50: quantile(cached, 0.5), cachedP99: quantile(cached, 0.99), literalP50: quantile(literal, 0.5), literalP99: quantile(literal, 0.99) });
  }
  return rows;
}
