/**
 * Rewrite latency: for every corpus statement, a point query and BI-style queries on protected
 * tables, p50/p99 of libpg-query's bare parse, of a cold rewrite (no cache) and of a cached
 * rewrite, measured in the same process, with ratios to the bare parse.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { join } from 'node:path';
import type { Client } from 'pg';
import { parseSync } from 'libpg-query';
import { initRewriter, loadCatalog, rewrite, RewriteCache, type RewriteContext } from '../rewriter';
import { literalsOf, normalizedText, splitAtParams } from '../rewriter/literal-template';
import { deparseStatement, parseTree } from '../rewriter/sql-parser';
import { parseQuery, parseToJson } from '../rewriter/read-back-parser';
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
  /**
   * Parse the statement, and parse the text sent to JSON text as the read-back does: the least a
   * rewriter that reads its output back costs.
   */
  readonly readBackFloorP50: number;
  /**
   * The same two parses as the rewriter makes them: the first on the read-back parser's instance
   * (parseQuery: libpg-query's WASM build, text in and out without emscripten's per-character
   * loops, then JSON.parse), the read-back to JSON text.
   */
  readonly ownFloorP50: number;
  readonly coldP50: number;
  readonly coldP99: number;
  /** How the rewrite went upstream: the analyst's text with the changes spliced in, or printed from the tree. */
  readonly sentAs: 'spliced' | 'printed';
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
  return (
    segments[0] + literals.map((l, i) => (/^\d+$/.test(l) ? String(Number(l) + shift) : l) + segments[i + 1]!).join('')
  );
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** Steady-state timings: a third as many untimed runs first, so the JIT has compiled what it runs. */
function time(fn: () => unknown, iterations: number, spans?: Span[]): number[] {
  for (let i = 0; i < Math.ceil(iterations / 3); i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    fn();
    const t1 = performance.now();
    samples.push((t1 - t0) * 1000);
    spans?.push({ start: t0, end: t1 });
  }
  return samples.sort((a, b) => a - b);
}

/**
 * Several measurements of one statement taken in turns, `iterations` samples each in blocks of
 * BLOCK, so that a change in the machine's load (other processes on its cores) reaches all of them
 * alike and their ratios stay meaningful. Warmed up first as time() is.
 */
function timeInTurns(
  fns: ReadonlyArray<() => unknown>,
  iterations: number,
  spans?: Array<Span[] | undefined>,
): number[][] {
  for (let i = 0; i < Math.ceil(iterations / 3); i++) for (const fn of fns) fn();
  const samples = fns.map((): number[] => []);
  for (let done = 0; done < iterations; done += BLOCK) {
    fns.forEach((fn, k) => {
      for (let i = done; i < Math.min(iterations, done + BLOCK); i++) {
        const t0 = performance.now();
        fn();
        const t1 = performance.now();
        samples[k]!.push((t1 - t0) * 1000);
        spans?.[k]?.push({ start: t0, end: t1 });
      }
    });
  }
  return samples.map((s) => s.sort((a, b) => a - b));
}

const BLOCK = 30;

interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * Every cold rewrite of the corpus pooled, and what its slow samples (over 1 ms) overlapped: a
 * garbage collection (kind: scavenge of the young generation, or mark-compact), or nothing of this
 * process's own (then the core was taken by another process: the process's CPU time is not
 * measured per sample, so this is the remainder).
 */
export interface ColdOutliers {
  readonly samples: number;
  readonly p99: number;
  readonly over1ms: number;
  readonly duringScavenge: number;
  readonly duringMarkCompact: number;
  readonly gcCount: number;
  readonly scavengeP50Ms: number;
  readonly scavengeMaxMs: number;
  /**
   * A second pass of cold rewrites (CPU_SAMPLES per statement), each measured as the process's CPU
   * time (process.cpuUsage: every thread of the process, so a collection's helper threads count,
   * while time the core spent on another process does not): the rewrite's own cost with the
   * preemptions of a loaded machine taken out.
   */
  readonly cpu: { readonly samples: number; readonly p99: number; readonly over1ms: number };
}

export interface LatencyResult {
  readonly rows: LatencyRow[];
  readonly outliers: ColdOutliers;
  /** The machine's 1-minute load average as the measurement ended: other processes on its cores. */
  readonly loadAverage: number;
}

/** Demo-like policies on pgbench_accounts and the demo tables. */
export function benchPolicies(): PolicySnapshot {
  return createPolicySnapshot(
    {
      dataProducts: [
        {
          name: 'bench',
          domain: 'bench',
          upstream: { host: '127.0.0.1', port: 5432, database: 'bench', user: 'postgres' },
        },
      ],
      globalPolicies: [
        {
          id: 'mask-filler',
          columns: [
            {
              columns: ['pgbench_accounts.filler'],
              action: { kind: 'mask', keepFirst: 2, keepLast: 2, maskChar: '*' },
            },
          ],
        },
        {
          id: 'mask-pii',
          columns: [
            { tags: ['pii.email'], action: { kind: 'mask_email' } },
            { tags: ['pii.ssn'], action: { kind: 'hash' } },
          ],
        },
      ],
      domainPolicies: [
        {
          id: 'branch-rows',
          domain: 'bench',
          tables: ['pgbench_accounts'],
          rows: { column: 'bid', in: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
        },
        { id: 'region-rows', domain: 'bench', tables: ['customers'], rows: { column: 'region', equals: 'EU' } },
      ],
      subscriptions: [{ dataProduct: 'bench', users: ['analyst'] }],
      taxonomy: new TagTaxonomy(
        new Set(['pii.email', 'pii.ssn', 'pii.phone', 'pii.name', 'pii.birth_date', 'finance.card']),
      ),
    },
    'bench-1',
  );
}

export const BI_QUERIES: ReadonlyArray<{ id: string; sql: string }> = [
  { id: 'point-query', sql: 'SELECT abalance FROM pgbench_accounts WHERE aid = 4711' },
  {
    id: 'bi-top-customers',
    sql: 'SELECT c.region, c.email, sum(o.amount) AS total FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 20',
  },
  {
    id: 'bi-monthly',
    sql: "SELECT date_trunc('month', o.ordered_at) AS m, count(*), avg(o.amount) FROM orders o WHERE o.status <> 'returned' GROUP BY 1 ORDER BY 1",
  },
  {
    id: 'bi-cohort',
    sql: 'WITH first AS (SELECT customer_id, min(ordered_at) AS f FROM orders GROUP BY 1) SELECT c.region, count(*) FROM first JOIN customers c ON c.id = first.customer_id GROUP BY 1',
  },
  { id: 'bi-search', sql: "SELECT id, name, email FROM customers WHERE name ILIKE '%ada%' ORDER BY id LIMIT 50" },
];

export async function measureRewriteLatency(
  client: Client,
  corpusDir: string,
  iterations = 300,
): Promise<LatencyResult> {
  await initRewriter();
  const gcs: Array<Span & { readonly kind: number }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      gcs.push({
        start: e.startTime,
        end: e.startTime + e.duration,
        kind: (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0,
      });
  });
  observer.observe({ entryTypes: ['gc'] });
  const coldSpans: Span[] = [];
  const coldSamples: number[] = [];
  const catalog = await loadCatalog(client);
  const policies = benchPolicies();
  const load = (f: string): Array<{ id: string; sql: string }> =>
    JSON.parse(readFileSync(join(corpusDir, f), 'utf8')) as Array<{ id: string; sql: string }>;
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
  const measured: Array<{ readonly sql: string; readonly ctx: RewriteContext }> = [];
  for (const { id, sql } of statements) {
    const ctx = context(id.startsWith('tpch') ? ['tpch', 'public'] : ['$user', 'public']);
    const outcome = rewrite(sql, ctx);
    if (outcome.kind === 'refusal') throw new Error(`${id} refused: ${outcome.message}`);
    const cache = new RewriteCache();
    cache.get(sql, ctx, () => outcome);
    const rewrittenTrees = parseTree(outcome.sql);
    const [parse, printFloor, designFloor, readBackFloor, ownFloor, cold] = timeInTurns(
      [
        () => parseSync(sql),
        () => parseTree(sql).map((s) => deparseStatement(s.stmt)),
        () => {
          parseTree(sql);
          for (const s of rewrittenTrees) parseTree(deparseStatement(s.stmt));
        },
        () => {
          parseSync(sql);
          parseToJson(outcome.sql);
        },
        () => {
          parseQuery(sql);
          parseToJson(outcome.sql);
        },
        () => rewrite(sql, ctx),
      ],
      iterations,
      [undefined, undefined, undefined, undefined, undefined, coldSpans],
    ) as [number[], number[], number[], number[], number[], number[]];
    coldSamples.push(...cold);
    const sentAs =
      outcome.sql === sql.trim() || outcome.sql !== rewrittenTrees.map((s) => deparseStatement(s.stmt)).join(';\n')
        ? 'spliced'
        : 'printed';
    const cached = time(() => cache.get(sql, ctx, () => outcome), iterations * 10);
    // Only single SELECTs get a template (a SET or a transaction statement is rewritten each time).
    const variants = Array.from({ length: iterations * 3 }, (_, i) => withOtherIntegers(sql, i + 1));
    const templated =
      variants[0] !== undefined && (cache.get(variants[0], ctx, (text) => rewrite(text, ctx)), cache.literalHits === 1);
    let next = 1;
    // Served from the template, not from the exact-text cache: repeating a variant is still a template hit.
    const literal = templated
      ? time(
          () => cache.get(variants[next++ % variants.length]!, ctx, (text) => rewrite(text, ctx)),
          variants.length - 1,
        )
      : [Number.NaN];
    if (templated && cache.literalHits < variants.length)
      throw new Error(`${id}: literal template not used (${cache.literalHits} of ${variants.length})`);
    measured.push({ sql, ctx });
    rows.push({
      id,
      parseP50: quantile(parse, 0.5),
      parseP99: quantile(parse, 0.99),
      printFloorP50: quantile(printFloor, 0.5),
      designFloorP50: quantile(designFloor, 0.5),
      readBackFloorP50: quantile(readBackFloor, 0.5),
      ownFloorP50: quantile(ownFloor, 0.5),
      sentAs,
      coldP50: quantile(cold, 0.5),
      coldP99: quantile(cold, 0.99),
      cachedP50: quantile(cached, 0.5),
      cachedP99: quantile(cached, 0.99),
      literalP50: quantile(literal, 0.5),
      literalP99: quantile(literal, 0.99),
    });
  }
  const cpuSamples: number[] = [];
  for (const { sql, ctx } of measured) {
    for (let i = 0; i < CPU_SAMPLES; i++) {
      const before = process.cpuUsage();
      rewrite(sql, ctx);
      const used = process.cpuUsage(before);
      cpuSamples.push(used.user + used.system);
    }
  }
  cpuSamples.sort((a, b) => a - b);
  const cpu = {
    samples: cpuSamples.length,
    p99: quantile(cpuSamples, 0.99),
    over1ms: cpuSamples.filter((us) => us > 1000).length,
  };
  // The observer reports collections asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return { rows, outliers: { ...outliersOf(coldSamples, coldSpans, gcs), cpu }, loadAverage: loadavg()[0]! };
}

/**
 * V8's PerformanceEntry gc kinds (perf_hooks.constants): 1 minor (scavenge), 4 incremental marking,
 * 2 major (mark-compact).
 */
const SCAVENGE = 1;

/** Cold rewrites per statement measured as CPU time (ColdOutliers.cpu). */
const CPU_SAMPLES = 100;

function outliersOf(
  samples: number[],
  spans: readonly Span[],
  gcs: ReadonlyArray<Span & { readonly kind: number }>,
): Omit<ColdOutliers, 'cpu'> {
  const slow = spans.filter((s) => (s.end - s.start) * 1000 > 1000);
  const overlapping = (s: Span, scavenge: boolean): boolean =>
    gcs.some((g) => (g.kind === SCAVENGE) === scavenge && g.start < s.end && g.end > s.start);
  const scavenges = gcs
    .filter((g) => g.kind === SCAVENGE)
    .map((g) => g.end - g.start)
    .sort((a, b) => a - b);
  return {
    samples: samples.length,
    p99: quantile(
      [...samples].sort((a, b) => a - b),
      0.99,
    ),
    over1ms: slow.length,
    duringScavenge: slow.filter((s) => overlapping(s, true)).length,
    duringMarkCompact: slow.filter((s) => !overlapping(s, true) && overlapping(s, false)).length,
    gcCount: gcs.length,
    scavengeP50Ms: scavenges.length > 0 ? quantile(scavenges, 0.5) : 0,
    scavengeMaxMs: scavenges.length > 0 ? scavenges[scavenges.length - 1]! : 0,
  };
}

const fmt = (n: number, digits = 2): string => n.toFixed(digits);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The rewrite-latency section of bench/RESULTS.md. */
export function latencySection({ rows: latency, outliers, loadAverage }: LatencyResult): string[] {
  const lines = [
    "## Rewrite latency (microseconds; ratio to libpg-query's bare parse of the same text)",
    '',
    '| statement | parse p50 | read-back floor p50 (ratio) | cold rewrite p50 (ratio) | cold p99 | sent as | printer floor p50 (ratio) | cached p50 | cached p99 | other literals p50 (ratio) | other literals p99 |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const literalCells = (r: LatencyRow): string =>
    Number.isNaN(r.literalP50)
      ? '- | -'
      : `${fmt(r.literalP50, 1)} (${fmt(r.literalP50 / r.parseP50)}x) | ${fmt(r.literalP99, 1)}`;
  const ofParse = (r: LatencyRow, us: number): string => `${fmt(us, 1)} (${fmt(us / r.parseP50)}x)`;
  for (const r of latency) {
    lines.push(
      `| ${r.id} | ${fmt(r.parseP50, 1)} | ${ofParse(r, r.readBackFloorP50)} | ${ofParse(r, r.coldP50)} | ${fmt(r.coldP99, 1)} | ${r.sentAs} | ${ofParse(r, r.designFloorP50)} | ${fmt(r.cachedP50, 2)} | ${fmt(r.cachedP99, 2)} | ${literalCells(r)} |`,
    );
  }
  const withLiterals = latency.filter((r) => !Number.isNaN(r.literalP50));
  const o = outliers;
  lines.push(
    '',
    `Median over statements: cold rewrite ${fmt(median(latency.map((r) => r.coldP50 / r.parseP50)))}x the bare parse (target 2.0x); the read-back floor (parse the statement, parse the text sent to JSON text as the read-back does) ${fmt(median(latency.map((r) => r.readBackFloorP50 / r.parseP50)))}x, ${fmt(median(latency.map((r) => r.ownFloorP50 / r.parseP50)))}x with the first parse made as the rewriter makes it (parseQuery, on the read-back parser's instance); the printer path's floor (parse, print the rewritten tree, parse it back) ${fmt(median(latency.map((r) => r.designFloorP50 / r.parseP50)))}x, printing alone ${fmt(median(latency.map((r) => r.printFloorP50 / r.parseP50)))}x; ${latency.filter((r) => r.sentAs === 'spliced').length} of ${latency.length} statements sent spliced; cached p50 ${fmt(median(latency.map((r) => r.cachedP50)))} us (target 2 us); ${withLiterals.length} statements with integer literals, served with other literals from their template at a median ${fmt(median(withLiterals.map((r) => r.literalP50 / r.parseP50)))}x the bare parse (libpg-query's normalize, which keys the template, is most of it).`,
    '',
    `Cold p99 over all ${o.samples} cold rewrites of the corpus pooled: ${fmt(o.p99, 1)} us (target under 1 ms). ${o.over1ms} took over 1 ms: ${o.duringScavenge} overlapped a scavenge of V8's young generation, ${o.duringMarkCompact} a mark-compact, ${o.over1ms - o.duringScavenge - o.duringMarkCompact} neither (the core was taken by another process: the load average was ${fmt(loadAverage, 1)} on ${cpus().length} cores as the run ended). ${o.gcCount} collections during the run; scavenges took ${fmt(o.scavengeP50Ms, 2)} ms at the median, ${fmt(o.scavengeMaxMs, 2)} ms at most. A statement's own p99 is its third-slowest of ${300} samples, so it shows whether a collection or a preemption fell into them more than anything in the statement. Measured as the process's CPU time instead (a second pass, ${o.cpu.samples} cold rewrites: a preemption does not count, a collection's helper threads do), the p99 was ${fmt(o.cpu.p99, 0)} us and ${o.cpu.over1ms} took over 1 ms.`,
    '',
    "A cold rewrite parses the statement, rewrites the tree, and sends a single query as the analyst's own text with the derived tables and schema-qualified names spliced in at the parser's locations (rewriter/splice.ts); that text is parsed again and sent only when it reads back as exactly the rewritten tree (positions aside; each derived table as its printed text reads), otherwise the tree is printed (pgsql-deparser) and read back as before. The read-back floor column is the least this design costs: the first parse and the read-back parse (to libpg-query's JSON text, without JSON.parse); the rewriter makes both on the read-back parser's WASM instance, with the platform's UTF-8 encoder and decoder in place of emscripten's per-character loops (the second floor in the summary). Above it is the rewriting itself; a CPU profile of cold rewrites of the whole corpus with a bare parse of each statement beside it (node --cpu-prof, 2026-12-01T23:31Z, load average 8.5) charged, per bare parse, summed over the corpus: the first parse 0.99, the read-back parse 0.51, the substitution walk 0.37 (the policy decisions 0.01: a snapshot remembers decide()'s answer per principal and relation, policies/decision-memo.ts), the read-back comparison 0.32 (the read-back's JSON text read against the rewritten tree, rewriter/tree-equality.ts readsBackAsTree), the splice 0.13 (printing the derived tables 0.10), the substitution's set-up 0.07, garbage collection 0.10. Before this work (2026-12-01T18:11Z) the walk was 0.8 (decisions 0.3) and the comparison (the rewritten tree serialized, positions removed from both texts by a regular expression) 0.4; a cold rewrite allocated about 103 KB per statement, now about 41 KB (a bare parse: 14 KB). All of it runs once per statement text or literal template, never on a cache hit.",
    '',
  );
  return lines;
}
