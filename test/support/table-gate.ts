/**
 * A statement gate decided by a table, for pipeline tests that are about what the session does
 * with a decision rather than about the decision: `customers` reads become a masked VALUES list
 * (real SQL any PostgreSQL runs), anything naming `ssn` is refused, `limited` reads carry a row
 * limit of 2, and bumping the version changes every mask, so decisions made before it are stale.
 */
import type { SessionInfo, StatementGate } from '../../proxy/statement-gate';
import { refusal, type RewriteOutcome, type RewritePlan } from '../../rewriter/rewrite-types';

export class TableGate implements StatementGate {
  version = 1;
  checks = 0;

  check(sql: string): RewriteOutcome {
    this.checks++;
    const policyVersion = `v${this.version}`;
    if (/\bssn\b/.test(sql))
      return refusal('42501', 'column "ssn" of "customers" is refused', ['denied_column'], policyVersion);
    const stars = '*'.repeat(this.version + 2);
    const masked = sql
      .replace(/\bFROM customers\b/g, `FROM (VALUES ('a${stars}'), ('b${stars}')) AS customers(email)`)
      .replace(/\bFROM limited\b/g, 'FROM generate_series(1, 3) AS limited(n)');
    const plan: RewritePlan = {
      kind: 'plan',
      sql: masked,
      statementCount: 1,
      rewritten: masked !== sql,
      relations: masked !== sql ? ['public.customers'] : [],
      reasons: [],
      effects: [],
      policyVersion,
      stamp: policyVersion,
      ...(/\bFROM limited\b/.test(sql) ? { rowLimit: 2 } : {}),
    };
    return plan;
  }

  stamp(_session: SessionInfo): string {
    return `v${this.version}`;
  }
}

/** The rewrite of `SELECT email FROM customers` under a gate version. */
export function maskedCustomers(version: number): string {
  const stars = '*'.repeat(version + 2);
  return `SELECT email FROM (VALUES ('a${stars}'), ('b${stars}')) AS customers(email)`;
}
