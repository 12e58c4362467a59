/**
 * The settings pgveil's decisions depend on (search_path, purpose), following transactions exactly
 * as PostgreSQL's own settings do, so that pgveil never decides with a value upstream has undone:
 *
 * - `SET` inside a transaction lasts if the transaction commits and is undone if it rolls back
 *   (explicitly, or because it failed); `SET LOCAL` ends with the transaction either way;
 * - `ROLLBACK TO SAVEPOINT` restores the values the savepoint saw, `RELEASE` keeps them;
 * - outside a transaction block each message runs in an implicit transaction (a multi-statement
 *   Query, or an extended-protocol batch up to Sync): a failure anywhere in it undoes its SETs;
 * - `RESET`, `SET ... TO DEFAULT`, `RESET ALL` and `DISCARD ALL` return to the session's start value.
 *
 * Socket-free: fed with what upstream confirmed (effects of completed statements, failures,
 * ReadyForQuery's transaction status), it holds what upstream holds.
 */
import type { SessionEffect, TrackedSettings, TransactionOp } from '../../rewriter';

interface Savepoint {
  readonly name: string | undefined;
  readonly current: TrackedSettings;
  readonly persistent: TrackedSettings;
}

interface Transaction {
  /** Opened by BEGIN (or seen as 'T'/'E'), rather than the implicit one of a message. */
  explicit: boolean;
  failed: boolean;
  /** Values before the transaction: what a rollback returns to. */
  readonly prior: TrackedSettings;
  /** Values a commit keeps: every non-local SET so far. */
  persistent: TrackedSettings;
  readonly savepoints: Savepoint[];
}

export type TransactionStatus = 'I' | 'T' | 'E';

export class SessionSettings {
  private values: TrackedSettings;
  private transaction: Transaction | undefined;

  constructor(private readonly defaults: TrackedSettings) {
    this.values = defaults;
  }

  get current(): TrackedSettings {
    return this.values;
  }

  /** A statement with this effect completed upstream. */
  apply(effect: SessionEffect): void {
    switch (effect.kind) {
      case 'set':
        return this.set(effect.values, effect.local);
      case 'reset':
        return this.set(Object.fromEntries(effect.settings.map((s) => [s, this.defaults[s]])), effect.local);
      case 'discard_all':
        return this.set(this.defaults, false);
      case 'transaction':
        return this.transactionControl(effect.op, effect.savepoint, effect.chain === true);
      default:
        return undefined;
    }
  }

  /** A statement failed upstream: its transaction, implicit or explicit, will roll back. */
  failed(): void {
    if (this.transaction) this.transaction.failed = true;
  }

  /** ReadyForQuery: the message's implicit transaction is over; 'T'/'E' say a block is open. */
  readyForQuery(status: TransactionStatus): void {
    const t = this.transaction;
    if (status === 'I') {
      if (t) this.end(!t.failed);
      return;
    }
    if (!t)
      this.transaction = {
        explicit: true,
        failed: status === 'E',
        prior: this.values,
        persistent: this.values,
        savepoints: [],
      };
    else {
      t.explicit = true;
      if (status === 'E') t.failed = true;
    }
  }

  private set(values: Partial<TrackedSettings>, local: boolean): void {
    const t = this.open();
    this.values = { ...this.values, ...values };
    if (!local) t.persistent = { ...t.persistent, ...values };
  }

  private open(): Transaction {
    this.transaction ??= {
      explicit: false,
      failed: false,
      prior: this.values,
      persistent: this.values,
      savepoints: [],
    };
    return this.transaction;
  }

  private transactionControl(op: TransactionOp, savepoint: string | undefined, chain: boolean): void {
    switch (op) {
      case 'begin':
        // BEGIN inside a message's implicit transaction turns it into the block (as PostgreSQL does).
        this.open().explicit = true;
        return;
      case 'commit':
        // COMMIT of a failed transaction is a rollback.
        if (this.transaction) this.end(!this.transaction.failed);
        if (chain) this.open().explicit = true;
        return;
      case 'rollback':
        if (this.transaction) this.end(false);
        if (chain) this.open().explicit = true;
        return;
      case 'savepoint': {
        const t = this.open();
        t.savepoints.push({ name: savepoint, current: this.values, persistent: t.persistent });
        return;
      }
      case 'release': {
        const t = this.transaction;
        const at = t ? lastIndexOf(t.savepoints, savepoint) : -1;
        if (t && at >= 0) t.savepoints.length = at;
        return;
      }
      case 'rollback_to': {
        const t = this.transaction;
        const at = t ? lastIndexOf(t.savepoints, savepoint) : -1;
        if (!t || at < 0) return;
        const kept = t.savepoints[at]!;
        // The savepoint itself stays, ready for another ROLLBACK TO.
        t.savepoints.length = at + 1;
        this.values = kept.current;
        t.persistent = kept.persistent;
        t.failed = false;
        return;
      }
    }
  }

  private end(commit: boolean): void {
    const t = this.transaction!;
    this.values = commit ? t.persistent : t.prior;
    this.transaction = undefined;
  }
}

function lastIndexOf(savepoints: readonly Savepoint[], name: string | undefined): number {
  for (let i = savepoints.length - 1; i >= 0; i--) if (savepoints[i]!.name === name) return i;
  return -1;
}
