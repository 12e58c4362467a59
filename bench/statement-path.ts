/**
 * pgveil's own work per statement, in process and without sockets: the gate (a rewrite served
 * from the exact-text cache, or from the literal template when only literals changed) and the
 * audit record (serialization, hash chain, write). Beside the CPU per statement of the proxy and
 * of a bare Node.js relay, measured end to end in the same run, it shows where the difference goes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { initRewriter, loadCatalog, RewriteCache, type RewriteOutcome } from '../rewriter';
import { AnomalyDetector, AuditLog, createAuditObserver, fanOut } from '../audit';
import { PgveilMetrics } from '../ops';
import { createRewritingGate, cachedRewrite } from '../gate';
import type { SessionInfo } from '../proxy/statement-gate';
import { benchPolicies } from './rewrite-latency';

export interface StatementPathCosts {
  /** Microseconds per statement, mean over many. */
  readonly exactHit: number;
  readonly literalHit: number;
  readonly auditRecord: number;
}

const pointQuery = (aid: number): string => `SELECT abalance FROM pgbench_accounts WHERE aid = ${aid};`;

/**
 * Mean microseconds of `fn(i)` over `n` calls, after as many untimed ones. Timed as one batch, not
 * per call (rewrite-latency.ts's time()): a cache hit costs little more than reading the clock.
 */
function mean(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < n; i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

export async function measureStatementPath(db: Client, n = 50_000): Promise<StatementPathCosts> {
  await initRewriter();
  const catalog = await loadCatalog(db);
  const policies = benchPolicies();
  const metrics = new PgveilMetrics();
  const cache = new RewriteCache();
  const gate = createRewritingGate({
    policies: () => policies,
    catalog: () => catalog,
    // As the server wires it: the cache, and the rewrite latency and cache metrics.
    rewrite: cachedRewrite(cache, metrics),
    helperSchema: 'pgveil',
  });
  const session: SessionInfo = {
    sessionId: 'bench',
    principal: { user: 'analyst', groups: [], attributes: {} },
    dataProduct: 'bench',
    searchPath: ['$user', 'public'],
    applicationName: 'pgbench',
    clientAddress: '127.0.0.1',
  };
  const check = (sql: string): RewriteOutcome => {
    const outcome = gate.check(sql, session);
    if (outcome instanceof Promise || outcome.kind !== 'plan') throw new Error(`point query not planned: ${sql}`);
    return outcome;
  };
  const texts = Array.from({ length: n }, (_, i) => pointQuery(1 + ((i * 7919) % 1_000_000)));
  const exactHit = mean(n, () => check(texts[0]!));
  const literalHit = mean(n, (i) => check(texts[i]!));
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-path-'));
  try {
    const observer = createAuditObserver({
      log: new AuditLog(join(dir, 'audit.jsonl'), undefined),
      events: fanOut([]),
      rawStatements: false,
      failClosed: true,
      metrics,
      anomalies: new AnomalyDetector(undefined),
    });
    const outcomes = texts.map(check);
    const auditRecord = mean(n, (i) =>
      observer.statementFinished({
        session,
        protocol: 'simple',
        sql: texts[i]!,
        outcome: outcomes[i]!,
        rows: 1,
        startedAt: new Date(),
        durationMs: 0.1,
      }),
    );
    return { exactHit, literalHit, auditRecord };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
