/**
 * A session's upstream side: its own connection, or under transaction pooling the connection lent
 * to it now. While a connection is held its bytes and its loss reach the session; once given back
 * nothing of it does, so a later borrower's answers can never reach this client.
 */
import * as write from '../protocol/message-writer';
import { PgError } from '../pg-error';
import { sendUpstreamCancel, type UpstreamSession } from '../upstream/upstream-connection';
import type { UpstreamTarget } from '../upstream/upstream-target';
import type { SessionEvent } from '../statement-gate';
import { PooledUpstream, type PooledConnection } from '../pool';
import type { Established } from './session-startup';
import type { StatementPipeline } from './statement-pipeline';

export interface UpstreamHooks {
  /** Upstream's bytes, in the chunks they arrived. */
  data(chunk: Buffer): void;
  /** The connection held now was lost. */
  lost(): void;
  fail(error: PgError, kind?: SessionEvent['kind']): void;
  /** A frame the client must see as its connection goes back (a ParameterStatus). */
  tell(frame: Buffer): void;
}

export class SessionUpstream {
  private target: UpstreamTarget | undefined;
  private own: UpstreamSession | undefined;
  private held: UpstreamSession | undefined;
  private pool: PooledUpstream | undefined;
  private lent: PooledConnection | undefined;

  constructor(private readonly hooks: UpstreamHooks) {}

  private readonly onChunk = (chunk: Buffer): void => this.hooks.data(chunk);
  private readonly onGone = (): void => this.hooks.lost();

  /** The session is established: its own connection or its pool. */
  begin(target: UpstreamTarget, upstream: Established['upstream']): void {
    this.target = target;
    if ('own' in upstream) this.own = upstream.own;
    else this.pool = upstream.pooled;
  }

  /** Upstream's bytes reach the session from now on: its own connection's at once, a pooled one's at each borrow. */
  relay(): void {
    if (!this.own) return;
    this.attach(this.own);
    // What arrived with the connection's startup answer, once; a pooled connection's was the pool's.
    if (this.own.leftover.length > 0) this.hooks.data(this.own.leftover);
  }

  /** The connection held now, if any. */
  get current(): UpstreamSession | undefined {
    return this.held;
  }

  get pooled(): boolean {
    return this.pool !== undefined;
  }

  /** Pooled and holding no connection: one must be borrowed before the client's next message. */
  get needsBorrow(): boolean {
    return this.pool !== undefined && this.lent === undefined;
  }

  /** Cancels what runs on the connection held now. */
  cancel(): Promise<void> {
    if (!this.target || !this.held) return Promise.resolve();
    return sendUpstreamCancel(this.target, this.held.processId, this.held.secretKey);
  }

  /** Transaction pooling: a connection for the client's next messages; false when the session failed. */
  async borrow(pipeline: StatementPipeline, closed: () => boolean): Promise<boolean> {
    let connection: PooledConnection;
    try {
      connection = await this.pool!.lend(pipeline, (error) => this.hooks.fail(error));
    } catch (error) {
      const failure =
        error instanceof PgError ? error : new PgError('08001', 'data product upstream is unavailable', 'FATAL');
      this.hooks.fail(failure, failure.sqlstate === '53300' ? 'limit_exceeded' : 'upstream_failure');
      return false;
    }
    this.lent = connection;
    this.attach(connection.upstream);
    if (closed()) this.endLent(pipeline, false, false);
    return !closed();
  }

  /**
   * Transaction pooling, called whenever the session may be quiet: the connection goes back once
   * upstream is idle and nothing pins it. Returns whether frames were queued upstream instead (a
   * Sync of pgveil's own, so a client that never syncs can still let it go).
   */
  giveBackWhenDone(pipeline: StatementPipeline): boolean {
    const connection = this.lent;
    if (!connection) return false;
    if (!PooledUpstream.mayGoBack(pipeline)) return pipeline.pinned === undefined && pipeline.syncEarly();
    this.detach(connection.upstream);
    this.lent = undefined;
    this.pool!.giveBack(connection, pipeline, { tell: (frame) => this.hooks.tell(frame), lost: this.onGone });
    return false;
  }

  /** The session ends: a pooled connection goes back clean or is closed; an own one is closed. */
  close(pipeline: StatementPipeline | undefined, inFlight: boolean, cancelling: boolean): void {
    if (this.lent) return this.endLent(pipeline!, inFlight, cancelling);
    const upstream = this.held;
    if (!upstream) return;
    // A client that leaves mid-statement must not leave its query running upstream.
    if (inFlight) void this.cancel();
    upstream.socket.end(write.terminate());
    upstream.socket.destroySoon?.();
  }

  private endLent(pipeline: StatementPipeline, inFlight: boolean, cancelling: boolean): void {
    const connection = this.lent!;
    this.detach(connection.upstream);
    // A client that leaves mid-statement must not leave its query running upstream.
    if (inFlight) void sendUpstreamCancel(this.target!, connection.upstream.processId, connection.upstream.secretKey);
    this.pool!.end(connection, pipeline, inFlight || cancelling);
    this.lent = undefined;
  }

  private attach(upstream: UpstreamSession): void {
    this.held = upstream;
    upstream.socket.on('data', this.onChunk);
    upstream.socket.on('error', this.onGone);
    upstream.socket.on('close', this.onGone);
  }

  private detach(upstream: UpstreamSession): void {
    this.held = undefined;
    upstream.socket.off('data', this.onChunk);
    upstream.socket.off('error', this.onGone);
    upstream.socket.off('close', this.onGone);
  }
}
