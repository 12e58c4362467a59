/**
 * EXECUTE and FETCH run what an earlier PREPARE or DECLARE decided, and a Bind or an Execute what
 * an earlier Parse or Bind did: each runs only while that decision holds. A cursor whose decision
 * no longer holds is refused; a SQL prepared statement is prepared again first (a Query of
 * pgveil's own that the client does not see), or refused when the new decision refuses it.
 */
import * as write from '../protocol/message-writer';
import type { StatementGate } from '../statement-gate';
import { quoteIdent, refusal, type Refusal, type RewriteOutcome, type RewritePlan } from '../../rewriter';
import { freshness } from './decision-freshness';
import { decidedOf, type Pending, type PipelineLedger } from './pipeline-ledger';
import { then } from './maybe-async';
import { deallocateUpstream, type PooledStatements } from './pooled-statements';

export interface UsesContext {
  readonly ledger: PipelineLedger;
  readonly gate: StatementGate;
  readonly pooled: PooledStatements;
  send(pending: Pending, frame: Buffer): void;
}

/** The statement's outcome once the prepared statements and cursors it runs were checked again. */
export function checkUses(
  context: UsesContext,
  outcome: RewriteOutcome,
  protocol: 'simple' | 'extended',
): RewriteOutcome | Promise<RewriteOutcome> {
  if (outcome.kind !== 'plan' || outcome.effects.length === 0) return outcome;
  const { ledger } = context;
  const { decided, statements, portals } = ledger;
  let result: RewriteOutcome | Promise<RewriteOutcome> = outcome;
  if (ledger.connection) {
    const pooled = context.pooled.useRefusal(outcome) ?? deallocateUpstream(context.pooled, outcome);
    if (pooled) return pooled;
  }
  for (const use of outcome.effects) {
    if (use.kind !== 'execute' && use.kind !== 'fetch') continue;
    // SQL and protocol-level prepared statements share one namespace upstream, as do cursors and portals.
    const sqlPrepared = use.kind === 'execute' ? decided.prepared.get(use.name) : undefined;
    const made =
      use.kind === 'execute'
        ? (sqlPrepared ?? decidedOf(statements.get(use.name)))
        : (decided.cursors.get(use.name) ?? decidedOf(portals.get(use.name)?.statement));
    if (!made) continue;
    result = then<RewriteOutcome, RewriteOutcome>(result, (sofar) => {
      if (sofar.kind !== 'plan') return sofar;
      const audited: RewritePlan = {
        ...sofar,
        reasons: [...sofar.reasons, ...made.reasons],
        relations: [...new Set([...sofar.relations, ...made.relations])],
      };
      return then(freshness(context.gate, ledger.info, made), (fresh): RewriteOutcome => {
        if (fresh.current) return audited;
        if (use.kind === 'fetch') return staleRefusal(`cursor "${use.name}"`, fresh.outcome);
        if (fresh.outcome.kind !== 'plan' || protocol !== 'simple' || !sqlPrepared)
          return staleRefusal(`prepared statement "${use.name}"`, fresh.outcome);
        prepareAgain(context, use.name, fresh.outcome);
        return { ...audited, reasons: [...sofar.reasons, ...fresh.outcome.reasons] };
      });
    });
  }
  return result;
}

/** Deallocates and prepares a SQL prepared statement again, ahead of the client's Query. */
function prepareAgain(context: UsesContext, name: string, plan: RewritePlan): void {
  const effect = plan.effects.find((e) => e.kind === 'prepare');
  const onSuccess = (): void => {
    if (effect) context.ledger.decided.apply(effect, plan);
  };
  context.send(
    { kind: 'hidden-query', failed: false, onSuccess },
    write.query(`DEALLOCATE ${quoteIdent(name)};\n${plan.sql}`),
  );
}

/**
 * A Bind of a statement made by SQL PREPARE: pgveil knows its decision only as SQL text, so the
 * portal could not be audited, limited or checked again at each Execute. Refused: use EXECUTE.
 */
export function sqlPreparedBind(name: string): Refusal {
  return refusal(
    '0A000',
    `binding statement "${name}", prepared with SQL PREPARE, is not supported through pgveil: run it with EXECUTE`,
    ['bind_sql_prepared'],
    '',
  );
}

/** The refusal of a prepared statement, portal or cursor whose decision no longer holds. */
export function staleRefusal(what: string, now: RewriteOutcome): Refusal {
  const again = what.startsWith('cursor') ? 'declare it again' : 'prepare it again';
  const detail = now.kind === 'refusal' ? ` (now refused: ${now.message})` : '';
  return refusal(
    '42501',
    `${what} was made under a decision that no longer holds: the policy, the user's attributes or grants, the purpose or the search_path changed${detail}; ${again}`,
    ['stale_decision', ...(now.kind === 'refusal' ? now.reasons : [])],
    now.policyVersion,
  );
}
