/**
 * The pipeline's books: which requests still wait for their answer (in the order the client sent
 * them), the prepared statements and portals as upstream holds them, the settings and decided
 * objects upstream confirmed, and the audit of each statement once its answer is complete.
 * Prepared statements and portals change only when upstream confirms (ParseComplete, BindComplete,
 * CloseComplete): a Parse that upstream rejects (a reused name, a refusal's sentinel) leaves the old
 * statement in place, exactly as PostgreSQL does, so what is audited and limited is what really runs.
 */
import type { Refusal, RewriteOutcome, RewritePlan } from '../../rewriter';
import type { SessionInfo, StatementRecord } from '../statement-gate';
import { SessionSettings, type TransactionStatus } from './session-settings';
import { DecidedObjects, type Decided } from './decided-objects';

export interface Statement {
  readonly sql: string;
  readonly outcome: RewriteOutcome;
  /** The Parse's parameter types (count and OIDs), to prepare it again under a new decision. */
  readonly parameterTypes?: Buffer;
  /** Transaction pooling: the name upstream knows it by (content-addressed; '' for the unnamed one). */
  readonly upstreamName?: string;
}

/** Transaction pooling: the prepared statements the connection lent to this session holds. */
export interface ConnectionStatements {
  /** Named statements, by pgveil's content names, oldest first. */
  readonly prepared: Set<string>;
  /** The Statement its unnamed statement holds, if known. */
  unnamed: object | undefined;
}

/** A bound portal as upstream holds it; rows count across every Execute of the portal. */
export interface Portal {
  readonly statement: Statement | undefined;
  rows: number;
  /** When the client bound it (ms): a later Execute checks its decision again. */
  readonly boundAt: number;
}

export interface StatementError {
  readonly sqlstate: string;
  readonly message: string;
}

/** One statement run, as audited. */
export interface Execution {
  statement: Statement | undefined;
  readonly started: Date;
  readonly t0: bigint;
  rows: number;
  overLimit?: boolean;
  /** Past the principal's time limit: cancelled upstream, answered with 57014. */
  overTime?: boolean;
}

/** A message whose answer is still coming. */
export type Pending =
  | ({ kind: 'simple'; error?: StatementError; completed: number } & Execution & { statement: Statement })
  /** `ensure`: pgveil prepares a statement the session already has on the connection lent to it. */
  | {
      kind: 'parse';
      name: string;
      statement: Statement;
      hidden?: true;
      ensure?: true;
      /** Told whether upstream created the statement, once it answered (or skipped) the Parse. */
      answered?: Array<(created: boolean) => void>;
    }
  | { kind: 'bind'; portal: string; statementName: string; boundAt: number; refusal?: Refusal }
  /** `name` undefined: a close of pgveil's own (an upstream name no client statement has). */
  | { kind: 'close'; target: 'statement' | 'portal'; name: string | undefined; upstreamName?: string; hidden?: true }
  | { kind: 'describe'; refusal?: Refusal }
  | ({
      kind: 'execute';
      portalName: string;
      portal: Portal | undefined;
      resolved: boolean;
      refusal?: Refusal;
    } & Execution)
  /** `hidden`: pgveil's own Sync, so a pooled connection can go back between a Parse and its Bind. */
  | { kind: 'sync'; hidden?: true }
  /** pgveil's own Query (preparing a SQL prepared statement again): its answer is not the client's. */
  | { kind: 'hidden-query'; failed: boolean; onSuccess: () => void; onFailure?: () => void };

/** A statement whose answer is arriving: a Query or an Execute. */
export type Running = Extract<Pending, { kind: 'simple' | 'execute' }>;

const IDLE = 0x49; // 'I'

export class PipelineLedger {
  readonly pending: Pending[] = [];
  readonly statements = new Map<string, Statement>();
  readonly portals = new Map<string, Portal>();
  readonly decided = new DecidedObjects();
  /** search_path and purpose as upstream holds them, through transactions and savepoints. */
  readonly settings: SessionSettings;
  transactionStatus = IDLE;
  /** An extended-protocol message failed: upstream ignores everything until the next Sync. */
  skippingToSync = false;
  /** Nothing was sent upstream since the last ReadyForQuery: a pooled connection may go back. */
  synced = true;
  /** Since the last ReadyForQuery, a portal was bound, executed or described, or a Query sent. */
  portalWork = false;
  /** Transaction pooling: the connection lent now (undefined: none, or not pooled). */
  connection: ConnectionStatements | undefined;
  /** Transaction pooling: a statement sent since the last return may have changed session settings. */
  settingsChanged = false;
  /** Transaction pooling: a session-level advisory lock was taken; the connection is the session's from then on. */
  sessionLocked = false;

  constructor(
    /** The session as the gate sees it; follows the settings upstream holds. */
    public info: SessionInfo,
    private readonly onFinished: (record: StatementRecord) => void,
  ) {
    // What the session started with is what RESET returns to.
    this.settings = new SessionSettings({ searchPath: info.searchPath, purpose: info.principal.purpose });
  }

  /** The head of the queue when it is a statement whose answer is arriving, its portal resolved. */
  running(): Running | undefined {
    const head = this.pending[0];
    if (head?.kind === 'execute' && !head.resolved) {
      // Resolved only now: every Bind sent before this Execute has been answered by upstream.
      head.resolved = true;
      head.portal = this.portals.get(head.portalName);
      head.statement = head.portal?.statement;
    }
    return head?.kind === 'simple' || head?.kind === 'execute' ? head : undefined;
  }

  /**
   * Transaction pooling: why the connection must stay with this session (undefined: it may go back).
   * SQL prepared statements and cursors WITH HOLD live upstream until DEALLOCATE or CLOSE; what
   * upstream confirmed is what counts, and once they are gone the connection may go back again.
   */
  get pinned(): string | undefined {
    if (this.sessionLocked) return 'a session-level advisory lock';
    if (this.decided.prepared.size > 0) return 'SQL PREPARE';
    for (const cursor of this.decided.cursors.values()) if (cursor.hold) return 'a cursor WITH HOLD';
    return undefined;
  }

  /** Transaction pooling: upstream confirmed a Parse on the connection lent now. */
  prepared(statement: Statement): void {
    const connection = this.connection;
    const name = statement.upstreamName;
    if (!connection || name === undefined) return;
    if (name === '') connection.unnamed = statement;
    else connection.prepared.add(name);
  }

  /** Transaction pooling: upstream confirmed a Close of a statement on the connection lent now. */
  closed(upstreamName: string): void {
    const connection = this.connection;
    if (!connection) return;
    if (upstreamName === '') connection.unnamed = undefined;
    else connection.prepared.delete(upstreamName);
  }

  /** Statements (Queries and Executes) queued, the running one included. */
  statementsQueued(): number {
    let n = 0;
    for (const p of this.pending) if (p.kind === 'simple' || p.kind === 'execute') n++;
    return n;
  }

  /** The message at the head of the queue failed upstream. */
  failHead(error: StatementError): void {
    this.settings.failed();
    const head = this.pending[0];
    if (!head || head.kind === 'sync') return;
    if (head.kind === 'simple') {
      head.error ??= error;
      return;
    }
    // PostgreSQL now skips every message up to the next Sync, simple Queries included.
    this.skippingToSync = true;
    if (head.kind === 'execute') return this.finish(error);
    this.pending.shift();
    if (head.kind === 'parse') answered(head, false);
    // A failed Parse or Bind has already dropped the unnamed statement or portal it was replacing.
    if (head.kind === 'parse' && head.name === '') this.statements.delete('');
    if (head.kind === 'parse' && head.statement.upstreamName === '' && this.connection)
      this.connection.unnamed = undefined;
    if (head.kind === 'bind' && head.portal === '') this.portals.delete('');
  }

  /** ReadyForQuery: the Query or Sync it answers is done, and so is everything before it. */
  settle(status: number): void {
    this.transactionEnded(status);
    const notRun = { sqlstate: '', message: 'not executed: an earlier message in the pipeline failed' };
    for (;;) {
      const p = this.pending.shift();
      if (!p || p.kind === 'sync') break;
      // A Parse still queued here was skipped: it created nothing.
      if (p.kind === 'parse') answered(p, false);
      if (p.kind === 'simple' && !this.skippingToSync) {
        // PostgreSQL runs no more of a pipeline after a Query: it drops the unnamed statement and portal.
        this.statements.delete('');
        this.portals.delete('');
        this.report('simple', p, p.error);
        break;
      }
      if (p.kind === 'simple') this.report('simple', p, notRun);
      else if (p.kind === 'execute') this.report('extended', p, notRun);
    }
    this.skippingToSync = false;
    this.synced = true;
    this.portalWork = false;
    // Outside a transaction PostgreSQL holds no portals: neither does pgveil's map, which a
    // client binding ever new portal names would otherwise grow without bound.
    if (status === IDLE) this.portals.clear();
  }

  /** The Execute at the head of the queue is done (or failed). */
  finish(error: StatementError | undefined, completed = false): void {
    this.running();
    const head = this.pending.shift();
    if (head?.kind !== 'execute') return;
    if (completed && head.statement?.outcome.kind === 'plan') this.applyEffects(head.statement.outcome, 0);
    this.report(
      'extended',
      head,
      head.refusal && error ? { sqlstate: head.refusal.sqlstate, message: head.refusal.message } : error,
    );
  }

  /** Upstream confirmed statement `index` of a plan: its effects now hold upstream. */
  applyEffects(plan: RewritePlan, index: number): void {
    if (plan.effects.length === 0) return;
    for (const effect of plan.effects) {
      if (effect.statement !== index) continue;
      this.settings.apply(effect);
      this.decided.apply(effect, plan);
      // DEALLOCATE of a protocol-level statement's name drops it (pooled: under its content name).
      if (effect.kind === 'deallocate' && effect.name !== undefined && this.statements.has(effect.name)) {
        const upstreamName = this.statements.get(effect.name)?.upstreamName;
        this.statements.delete(effect.name);
        if (upstreamName) this.connection?.prepared.delete(upstreamName);
      }
      // DEALLOCATE ALL and DISCARD ALL drop protocol-level statements too (one namespace upstream).
      if ((effect.kind === 'deallocate' && effect.name === undefined) || effect.kind === 'discard_all') {
        this.statements.clear();
        this.connection?.prepared.clear();
        if (this.connection) this.connection.unnamed = undefined;
      }
    }
    this.syncSettings();
  }

  /** ReadyForQuery: a transaction may have ended, undoing or keeping what it set. */
  transactionEnded(status: number): void {
    this.transactionStatus = status;
    const s = String.fromCharCode(status) as TransactionStatus;
    this.settings.readyForQuery(s);
    this.decided.readyForQuery(s);
    this.syncSettings();
  }

  /** Statements whose answer had not fully arrived when the session ended are still audited. */
  abandon(): void {
    while (this.pending.length > 0) {
      const p = this.running() ?? this.pending[0]!;
      this.pending.shift();
      if (p.kind !== 'simple' && p.kind !== 'execute') continue;
      const error =
        p.kind === 'simple' && p.error
          ? p.error
          : { sqlstate: '08006', message: 'session ended before the statement completed' };
      this.report(p.kind === 'simple' ? 'simple' : 'extended', p, error);
    }
  }

  report(protocol: 'simple' | 'extended', p: Execution, error: StatementError | undefined): void {
    if (!p.statement) return;
    this.onFinished({
      session: this.info,
      protocol,
      sql: p.statement.sql,
      outcome: p.statement.outcome,
      rows: p.rows,
      startedAt: p.started,
      durationMs: Number(process.hrtime.bigint() - p.t0) / 1e6,
      ...(error ? { error } : {}),
    });
  }

  private syncSettings(): void {
    const info = this.info;
    const current = this.settings.current;
    if (current.searchPath === info.searchPath && current.purpose === info.principal.purpose) return;
    this.info = { ...info, searchPath: current.searchPath, principal: { ...info.principal, purpose: current.purpose } };
  }
}

function answered(parse: Extract<Pending, { kind: 'parse' }>, created: boolean): void {
  for (const tell of parse.answered ?? []) tell(created);
}

/** A protocol-level statement's decision, as a SQL EXECUTE or FETCH naming it must check it. */
export function decidedOf(statement: Statement | undefined): Decided | undefined {
  const outcome = statement?.outcome;
  return statement && outcome?.kind === 'plan'
    ? {
        sql: statement.sql,
        rewritten: outcome.sql,
        stamp: outcome.stamp,
        reasons: outcome.reasons,
        relations: outcome.relations,
      }
    : undefined;
}
