/**
 * The proxy's two seams: every SQL text goes through a StatementGate before anything reaches
 * upstream, and every statement and security-relevant session event is reported to an observer
 * (audit, security events, metrics). The proxy itself never edits SQL.
 */
import type { Principal } from '../policies';
import type { RewriteOutcome } from '../rewriter';

export interface SessionInfo {
  readonly sessionId: string;
  readonly principal: Principal;
  /** The client's database name, which names the data product. */
  readonly dataProduct: string;
  readonly searchPath: readonly string[];
  readonly applicationName: string | undefined;
  readonly clientAddress: string;
}

export interface StatementGate {
  /**
   * Query text of a simple Query or a Parse. Never throws: failures are Refusals. `recheck` is a
   * second look at a prepared statement or cursor (no new statement: not rate-limited).
   */
  check(
    sql: string,
    session: SessionInfo,
    options?: { readonly recheck?: boolean },
  ): RewriteOutcome | Promise<RewriteOutcome>;
  /**
   * The stamp a plan made now would carry (RewritePlan.stamp), or undefined when it cannot be
   * told without waiting: a plan whose stamp differs must be looked at again before it runs.
   */
  stamp(session: SessionInfo): string | undefined;
}

export interface StatementRecord {
  readonly session: SessionInfo;
  readonly protocol: 'simple' | 'extended';
  /** The analyst's text as received. */
  readonly sql: string;
  readonly outcome: RewriteOutcome;
  /** DataRows relayed to the client for this statement (or Execute). */
  readonly rows: number;
  readonly startedAt: Date;
  readonly durationMs: number;
  /** Set when upstream answered with an error, or the statement was refused. */
  readonly error?: { readonly sqlstate: string; readonly message: string };
}

/**
 * What a session reports besides statements. Closed: the observer turns every kind but the routine
 * ones (session_start, session_end, auth_success) into a security event of the same name, which
 * audit/security-events.ts SecurityEventKind must then allow, or the observer does not compile.
 */
type SessionEventKind =
  | 'auth_failure'
  | 'auth_success'
  | 'protocol_violation'
  | 'limit_exceeded'
  | 'session_start'
  | 'session_end'
  | 'upstream_failure';

export interface SessionEvent {
  readonly kind: SessionEventKind;
  readonly at: Date;
  readonly sessionId: string;
  readonly user: string | undefined;
  readonly clientAddress: string;
  readonly dataProduct: string | undefined;
  /** Lowercase, no secrets. */
  readonly detail: string;
  /** session_start and session_end of a session whose data product is pooled (it holds no connection of its own). */
  readonly pooled?: true;
}

export interface StatementObserver {
  statementFinished(record: StatementRecord): void;
  sessionEvent(event: SessionEvent): void;
  /**
   * False when statements must not run because they could not be audited (audit sink down and
   * configured to fail closed). The proxy then refuses with SQLSTATE 53000-class error.
   */
  readyForStatements(): boolean;
  /**
   * An answer is relayed only once its statement's record is written. An observer that writes
   * records in batches says so here: true while records wait for their write, `whenRecorded` runs
   * its callback once they are written, `flushRecords` writes them now (a session that is failing).
   */
  recordsPending?(): boolean;
  whenRecorded?(release: () => void): void;
  flushRecords?(): void;
}
