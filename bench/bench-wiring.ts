/**
 * The gate and the audit observer wired as the server wires them (cache, metrics, hash-chained
 * log), over the bench database's catalog and policies: what the in-process benches measure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { initRewriter, loadCatalog, RewriteCache } from '../rewriter';
import { AnomalyDetector, AuditLog, createAuditObserver, fanOut } from '../audit';
import { PgveilMetrics } from '../ops';
import { createRewritingGate, cachedRewrite } from '../gate';
import type { SessionInfo, StatementGate, StatementObserver } from '../proxy';
import { benchPolicies } from './rewrite-latency';

export interface BenchWiring {
  readonly gate: StatementGate;
  /** Created on first use, writing to a temporary audit log. */
  observer(): StatementObserver;
  readonly session: SessionInfo;
  /** Removes the temporary audit log. */
  close(): void;
}

export async function benchWiring(db: Client): Promise<BenchWiring> {
  await initRewriter();
  const catalog = await loadCatalog(db);
  const policies = benchPolicies();
  const metrics = new PgveilMetrics();
  const gate = createRewritingGate({
    policies: () => policies,
    catalog: () => catalog,
    // As the server wires it: the cache, and the rewrite latency and cache metrics.
    rewrite: cachedRewrite(new RewriteCache(), metrics),
    helperSchema: 'pgveil',
  });
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-bench-audit-'));
  let observer: StatementObserver | undefined;
  return {
    gate,
    observer: () =>
      (observer ??= createAuditObserver({
        log: new AuditLog(join(dir, 'audit.jsonl'), undefined),
        events: fanOut([]),
        rawStatements: false,
        failClosed: true,
        metrics,
        anomalies: new AnomalyDetector(undefined),
      })),
    session: {
      sessionId: 'bench',
      principal: { user: 'analyst', groups: [], attributes: {} },
      dataProduct: 'bench',
      searchPath: ['$user', 'public'],
      applicationName: 'pgbench',
      clientAddress: '127.0.0.1',
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
