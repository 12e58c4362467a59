/**
 * The SQL-level prepared statements (PREPARE) and cursors (DECLARE) a session holds upstream, each
 * with the decision it was made under: the analyst's own text, what pgveil rewrote it to, and the
 * decision stamp. A later EXECUTE or FETCH compares that with the current decision (see
 * decision-freshness.ts). Socket-free; fed with what upstream confirmed.
 *
 * Forgetting an object that still exists upstream would let it run unchecked, so an object is
 * forgotten only when PostgreSQL certainly dropped it: DEALLOCATE, CLOSE, DISCARD ALL, and, for a
 * cursor without HOLD, the end of its transaction (ReadyForQuery 'I').
 */
import type { DecisionReason } from '../../policies';
import type { RewritePlan, SessionEffect } from '../../rewriter';
import type { TransactionStatus } from './session-settings';

/** A statement text as decided once: enough to tell whether the decision still holds. */
export interface Decided {
  readonly sql: string;
  readonly rewritten: string;
  readonly stamp: string | undefined;
  /** The rules and relations that decided, for the audit record of each EXECUTE or FETCH. */
  readonly reasons: readonly DecisionReason[];
  readonly relations: readonly string[];
}

interface Cursor extends Decided {
  readonly hold: boolean;
}

export class DecidedObjects {
  readonly prepared = new Map<string, Decided>();
  readonly cursors = new Map<string, Cursor>();

  /** A statement of `plan` with this effect completed upstream. */
  apply(effect: SessionEffect, plan: RewritePlan): void {
    const decided = (sql: string, rewritten: string): Decided => ({
      sql,
      rewritten,
      stamp: plan.stamp,
      reasons: plan.reasons,
      relations: plan.relations,
    });
    switch (effect.kind) {
      case 'prepare':
        this.prepared.set(effect.name, decided(effect.sql, effect.rewritten));
        return;
      case 'deallocate':
        if (effect.name === undefined) this.prepared.clear();
        else this.prepared.delete(effect.name);
        return;
      case 'declare_cursor':
        this.cursors.set(effect.name, { ...decided(effect.sql, effect.rewritten), hold: effect.hold });
        return;
      case 'close_cursor':
        if (effect.name === undefined) this.cursors.clear();
        else this.cursors.delete(effect.name);
        return;
      case 'discard_all':
        this.prepared.clear();
        this.cursors.clear();
        return;
      default:
        return;
    }
  }

  readyForQuery(status: TransactionStatus): void {
    if (status !== 'I') return;
    for (const [name, cursor] of this.cursors) if (!cursor.hold) this.cursors.delete(name);
  }
}
