/**
 * pgveil's own work per statement, in process and without sockets: the gate (a rewrite served
 * from the exact-text cache, or from the literal template when only literals changed) and the
 * audit record (serialization, hash chain, write). Beside the CPU per statement of the proxy and
 * of a bare Node.js relay, measured end to end in the same run, it shows where the difference goes.
 */
import type { Client } from 'pg';
import type { RewriteOutcome } from '../rewriter';
import { benchWiring } from './bench-wiring';

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
  const wiring = await benchWiring(db);
  const { gate, session } = wiring;
  const check = (sql: string): RewriteOutcome => {
    const outcome = gate.check(sql, session);
    if (outcome instanceof Promise || outcome.kind !== 'plan') throw new Error(`point query not planned: ${sql}`);
    return outcome;
  };
  const texts = Array.from({ length: n }, (_, i) => pointQuery(1 + ((i * 7919) % 1_000_000)));
  const exactHit = mean(n, () => check(texts[0]!));
  const literalHit = mean(n, (i) => check(texts[i]!));
  try {
    const observer = wiring.observer();
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
    wiring.close();
  }
}
