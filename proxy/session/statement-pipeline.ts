/**
 * The statement pipeline of one session, free of sockets and timers: client messages in, frames
 * for upstream out; upstream's frames in, what the client gets out; audit records as statements
 * finish. The session around it only moves bytes and keeps time, so every pipelining and refusal
 * case can be tested by feeding it messages (test/proxy/statement-pipeline.test.ts).
 */
import type { FrontendMessage } from '../protocol/frontend-decoder';
import type { SessionInfo, StatementGate, StatementRecord } from '../statement-gate';
import { ClientRequests } from './client-requests';
import { INSPECTED, UpstreamAnswers } from './upstream-answers';
import type { ResultTransform } from '../../rewriter';
import { PipelineLedger, type ConnectionStatements, type Running } from './pipeline-ledger';
import * as write from '../protocol/message-writer';
import type { BackendFrameHandler } from './backend-relay';

export interface PipelineContext {
  readonly gate: StatementGate;
  readyForStatements(): boolean;
  statementFinished(record: StatementRecord): void;
  /** Appears in the sentinel statement of a refusal; unguessable, so no analyst SQL can forge it. */
  readonly refusalToken: string;
  /** The analyst's user name as the client knows it. */
  readonly user: string;
  /** Cancel what runs upstream now (a row limit reached). */
  cancelUpstream(): void;
  /** A frame pgveil must send upstream at once, outside the client's requests. */
  sendUpstream(frame: Buffer): void;
  /** The client said Terminate. */
  terminate(): void;
}

export class StatementPipeline implements BackendFrameHandler {
  /** Frames the relay must hand to the pipeline whole. */
  static readonly inspectedCodes: ReadonlySet<number> = INSPECTED;
  private readonly ledger: PipelineLedger;
  private readonly requests: ClientRequests;
  private readonly answers: UpstreamAnswers;
  /** How long a statement of this principal may run (its latest decision says). */
  timeLimitMs: number | undefined;

  constructor(info: SessionInfo, context: PipelineContext) {
    this.ledger = new PipelineLedger(info, (record) => context.statementFinished(record));
    this.requests = new ClientRequests(this.ledger, {
      gate: context.gate,
      readyForStatements: () => context.readyForStatements(),
      refusalToken: context.refusalToken,
      terminate: () => context.terminate(),
      timeLimitChanged: (ms) => (this.timeLimitMs = ms),
    });
    this.answers = new UpstreamAnswers(this.ledger, {
      refusalToken: context.refusalToken,
      user: context.user,
      timeLimitMs: () => this.timeLimitMs,
      cancelUpstream: () => context.cancelUpstream(),
      toUpstream: (frame) => context.sendUpstream(frame),
    });
  }

  /** The session as the gate sees it now (search_path and purpose follow upstream). */
  get info(): SessionInfo {
    return this.ledger.info;
  }

  /** Nothing asked and unanswered. */
  get quiet(): boolean {
    return this.ledger.pending.length === 0;
  }

  /** Outside any transaction, as the last ReadyForQuery said. */
  get outsideTransaction(): boolean {
    return this.ledger.transactionStatus === 0x49;
  }

  /** Nothing sent upstream since its last ReadyForQuery. */
  get synced(): boolean {
    return this.ledger.synced;
  }

  /** Transaction pooling: why the session keeps its connection (undefined: it may give it back). */
  get pinned(): string | undefined {
    return this.ledger.pinned;
  }

  /**
   * Transaction pooling: the connection lent now (undefined: given back). Returns whether a
   * statement since the last lend may have changed session settings, and forgets it.
   */
  lend(connection: ConnectionStatements | undefined): boolean {
    this.ledger.connection = connection;
    const changed = this.ledger.settingsChanged;
    this.ledger.settingsChanged = false;
    return changed;
  }

  /**
   * Transaction pooling: a client that prepares statements (Parse, Describe, Flush) and binds them
   * later (asyncpg) would hold its connection in between. When only statements were prepared,
   * described or closed since the last ReadyForQuery, all answered without error, outside a
   * transaction, a Sync of pgveil's own ends the implicit transaction (nothing in it) so the
   * connection can go back; the client's Bind, Execute and Sync later run on any connection.
   * Returns true when it was queued.
   */
  syncEarly(): boolean {
    const ledger = this.ledger;
    if (!this.quiet || ledger.synced || ledger.portalWork || ledger.skippingToSync || !this.outsideTransaction)
      return false;
    ledger.pending.push({ kind: 'sync', hidden: true });
    this.requests.outbox.push(write.sync());
    return true;
  }

  /** pgveil's own Query, ahead of whatever the client sends next; nothing of its answer reaches the client. */
  hiddenQuery(sql: string, done: (ok: boolean) => void): void {
    this.ledger.pending.push({
      kind: 'hidden-query',
      failed: false,
      onSuccess: () => done(true),
      onFailure: () => done(false),
    });
    this.requests.outbox.push(write.query(sql));
  }

  /** A client message; returns a promise only when the gate must wait. */
  request(message: FrontendMessage): void | Promise<void> {
    return this.requests.handle(message);
  }

  /** Everything the requests so far send upstream, as one buffer (undefined: nothing). */
  takeUpstream(): Buffer | undefined {
    const outbox = this.requests.outbox;
    if (outbox.length === 0) return undefined;
    const data = outbox.length === 1 ? outbox[0]! : Buffer.concat(outbox);
    outbox.length = 0;
    return data;
  }

  dataRow(): boolean {
    return this.answers.dataRow();
  }

  rowTransform(): ResultTransform | undefined {
    return this.answers.rowTransform();
  }

  frame(code: number, frame: Buffer): Buffer | undefined {
    return this.answers.frame(code, frame);
  }

  /**
   * The first statement (Query or Execute) in the queue: upstream runs it now or once the messages
   * before it are answered, which PostgreSQL may hold back until the statement ends.
   */
  nextStatement(): Running | undefined {
    return this.ledger.pending.find((p): p is Running => p.kind === 'simple' || p.kind === 'execute');
  }

  statementsQueued(): number {
    return this.ledger.statementsQueued();
  }

  /** The session ended: statements still waiting are audited as not completed. */
  abandon(): void {
    this.ledger.abandon();
  }
}
