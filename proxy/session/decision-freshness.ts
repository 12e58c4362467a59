/**
 * Does a decision made earlier still hold? A prepared statement, a portal or a cursor was rewritten
 * under one policy version, one set of attributes and grants, one purpose and search_path. Before
 * it runs again the gate's current stamp is compared with the one it was made under; when they
 * differ the statement is rewritten again and the result compared with what runs upstream. Only a
 * different rewrite makes it stale: a policy change elsewhere leaves it alone.
 */
import type { RewriteOutcome } from '../../rewriter';
import type { SessionInfo, StatementGate } from '../statement-gate';

export interface DecidedText {
  /** The analyst's text. */
  readonly sql: string;
  /** What it was rewritten to, and runs upstream. */
  readonly rewritten: string;
  readonly stamp: string | undefined;
}

export type Freshness =
  /** Still the same decision; `outcome` is the new plan when it had to be rewritten to tell. */
  | { readonly current: true; readonly outcome?: RewriteOutcome }
  /** Decided differently now: `outcome` is the new plan or refusal. */
  | { readonly current: false; readonly outcome: RewriteOutcome };

export function freshness(
  gate: StatementGate,
  session: SessionInfo,
  decided: DecidedText,
): Freshness | Promise<Freshness> {
  const now = gate.stamp(session);
  if (now !== undefined && now === decided.stamp) return { current: true };
  const judge = (outcome: RewriteOutcome): Freshness =>
    outcome.kind === 'plan' && outcome.sql === decided.rewritten
      ? { current: true, outcome }
      : { current: false, outcome };
  const outcome = gate.check(decided.sql, session, { recheck: true });
  return outcome instanceof Promise ? outcome.then(judge) : judge(outcome);
}
