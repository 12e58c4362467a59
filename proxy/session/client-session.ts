/**
 * One analyst connection: its sockets, its timers and its lifecycle. The way in (startup,
 * authentication, the upstream connection) is SessionStartup; what each statement becomes upstream
 * and what each answer becomes for the client is the StatementPipeline, free of sockets; upstream's
 * bytes reach the client through the BackendRelay, which scans frame headers in place.
 */
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { randomBytes, randomInt } from 'node:crypto';
import { PgError, protocolViolation } from '../pg-error';
import type { ProxyOptions } from '../proxy-options';
import type { SessionEvent } from '../statement-gate';
import { greeting, SessionStartup, type Established } from './session-startup';
import { StatementPipeline } from './statement-pipeline';
import { BackendRelay } from './backend-relay';
import { StatementTimeLimit } from './statement-time-limit';
import { SessionClocks } from './session-clocks';
import { FrontendCode } from '../protocol/message-codes';
import type { PoolRegistry } from '../pool';
import { SessionUpstream } from './session-upstream';
import { ClientOutput } from './client-output';
import { ClientConnection } from './client-connection';

export interface SessionHost {
  readonly options: ProxyOptions;
  readonly secureContext: SecureContext | undefined;
  /** Random per process: derives decoy SCRAM salts for unknown users. */
  readonly decoySecret: Buffer;
  readonly pools: PoolRegistry;
  register(session: ClientSession): void;
  unregister(session: ClientSession): void;
  cancel(processId: number, secretKey: number): void;
}

type Phase = 'startup' | 'authenticating' | 'ready' | 'closed';

export class ClientSession {
  readonly sessionId = randomBytes(8).toString('hex');
  readonly processId = randomInt(1, 2 ** 31 - 1);
  readonly secretKey = randomInt(-(2 ** 31), 2 ** 31 - 1);

  private readonly client: ClientConnection;
  private phase: Phase = 'startup';
  private readonly startup: SessionStartup;
  private readonly upstream = new SessionUpstream({
    data: (chunk) => this.onUpstreamData(chunk),
    lost: () => this.upstreamLost(),
    fail: (error, kind) => this.fail(error, kind),
    tell: (frame) => {
      if (this.phase === 'ready') this.output.send(frame);
    },
  });
  private pipeline: StatementPipeline | undefined;
  private relay: BackendRelay | undefined;
  private readonly timeLimit = new StatementTimeLimit({
    limitExceeded: (message) => this.event('limit_exceeded', message),
    cancelRunning: () => this.cancelRunning(),
    fail: (error) => this.fail(error),
  });
  private cancelling: Promise<void> | undefined;
  private readonly output: ClientOutput;
  private pumping = false;
  private draining = false;
  private readonly clocks = new SessionClocks();

  constructor(
    socket: Socket,
    private readonly host: SessionHost,
    /** Set when the session is over a limit: it is refused right after its startup packet. */
    rejection?: PgError,
  ) {
    this.client = new ClientConnection(socket, host.options.limits.maxMessageBytes, {
      received: () => void this.pump(),
      gone: () => this.close(),
    });
    this.output = new ClientOutput(
      () => this.socket,
      () => this.upstream.current?.socket,
      host.options.observer,
      () => this.phase !== 'closed',
    );
    this.startup = new SessionStartup({
      options: host.options,
      secureContext: host.secureContext,
      decoySecret: host.decoySecret,
      pools: host.pools,
      sessionId: this.sessionId,
      rejection,
      clientAddress: () => this.clientAddress,
      tls: () => this.client.tls,
      bufferedInput: () => this.client.decoder.buffered,
      write: (data) => this.socket.write(data),
      upgradeToTls: (context) => this.client.upgradeToTls(context),
      endStartupPhase: () => this.client.decoder.endStartupPhase(),
      cancel: (processId, secretKey) => host.cancel(processId, secretKey),
      close: () => this.close(),
      event: (kind, detail) => this.event(kind, detail),
      fail: (error, kind) => this.fail(error, kind),
      closed: () => this.phase === 'closed',
    });
    this.clocks.startupDeadline(host.options.limits.startupTimeoutMs, () =>
      this.fail(new PgError('08P01', 'startup timed out', 'FATAL'), 'limit_exceeded'),
    );
  }

  private get socket(): Socket {
    return this.client.socket;
  }

  get clientAddress(): string {
    return this.client.address;
  }

  /** True between statements: nothing in flight. */
  get idle(): boolean {
    return this.phase !== 'ready' || (this.pipeline!.quiet && !this.pumping);
  }

  /** Called on SIGTERM: let the running statement and any open transaction finish, then end. */
  drain(): void {
    this.draining = true;
    const quiescent = this.idle && (this.pipeline?.outsideTransaction ?? true);
    if (this.phase !== 'ready' || quiescent)
      this.terminate(new PgError('57P01', 'terminating connection due to administrator command', 'FATAL'));
  }

  /**
   * The client's CancelRequest. Pooled, a connection goes back only after the cancel has landed,
   * so it can never reach the next borrower's statement; without a connection nothing runs.
   */
  cancelRequested(): void {
    if (this.phase !== 'ready' || !this.upstream.current) return;
    this.cancelRunning();
  }

  /** Handles buffered messages one at a time; async steps (gate, auth) hold the rest back. */
  private async pump(): Promise<void> {
    if (this.pumping || this.phase === 'closed') return;
    this.pumping = true;
    try {
      while (!this.isClosed()) {
        if (this.phase === 'startup') {
          const packet = this.client.decoder.nextStartupPacket();
          if (!packet) break;
          this.startup.packet(packet);
          if (this.startup.authenticating) this.phase = 'authenticating';
          continue;
        }
        if (this.cancelling) await this.cancelling;
        const message = this.client.decoder.next();
        if (!message) break;
        this.clocks.busy();
        if (this.phase === 'authenticating') {
          const established = await this.startup.authMessage(message);
          if (established) this.begin(established);
        } else {
          if (this.upstream.needsBorrow && message.code !== FrontendCode.Terminate) {
            if (!(await this.upstream.borrow(this.pipeline!, () => this.isClosed()))) break;
          }
          // Most messages are handled synchronously; only a gate that must wait returns a promise.
          const handled = this.pipeline!.request(message);
          if (handled) {
            // What came before goes upstream now: the wait may be for upstream's answer to it.
            this.flushUpstream();
            await handled;
          }
        }
      }
    } catch (error) {
      this.fail(error instanceof PgError ? error : protocolViolation('invalid message'), 'protocol_violation');
    } finally {
      this.pumping = false;
      this.flushUpstream();
      this.watchStatementTime();
      this.client.resumeIfDrained();
      this.armIdleTimer();
      this.returnUpstream();
    }
  }

  /** Authenticated and connected: greet the client as PostgreSQL would, then relay. */
  private begin({ info, target, upstream, parameters, final }: Established): void {
    const user = this.startup.request!.user;
    this.pipeline = new StatementPipeline(info, {
      gate: this.host.options.gate,
      readyForStatements: () => this.host.options.observer.readyForStatements(),
      statementFinished: (record) => this.host.options.observer.statementFinished(record),
      refusalToken: randomBytes(12).toString('hex'),
      user,
      cancelUpstream: () => this.cancelRunning(),
      sendUpstream: (frame) => this.upstream.current?.socket.write(frame),
      terminate: () => this.close(),
    });
    this.relay = new BackendRelay(this.pipeline, StatementPipeline.inspectedCodes);
    this.upstream.begin(target, upstream);
    this.clocks.started();
    this.host.register(this);
    this.event('session_start', 'session started');
    this.socket.write(greeting(final, parameters, user, this.processId, this.secretKey));
    this.upstream.relay();
    this.phase = 'ready';
  }

  private flushUpstream(): void {
    const data = this.pipeline?.takeUpstream();
    const upstream = this.upstream.current;
    if (!upstream || !data) return;
    if (!upstream.socket.write(data)) {
      this.socket.pause();
      upstream.socket.once('drain', () => this.socket.resume());
    }
  }

  /**
   * Nothing more goes upstream until the cancel has landed: a late cancel must not hit the
   * client's next statement instead of this one.
   */
  private cancelRunning(): void {
    this.cancelling = this.upstream.cancel().finally(() => {
      this.cancelling = undefined;
      this.returnUpstream();
    });
  }

  private watchStatementTime(): void {
    if (this.pipeline && this.phase === 'ready') this.timeLimit.watch(this.pipeline);
  }

  // ---------------------------------------------------------------- upstream side

  /** Transaction pooling: the connection goes back once nothing is in flight. */
  private returnUpstream(): void {
    if (this.pumping || this.cancelling || this.phase !== 'ready') return;
    if (this.upstream.giveBackWhenDone(this.pipeline!)) this.flushUpstream();
  }

  private upstreamLost(): void {
    if (this.phase === 'closed') return;
    this.event('upstream_failure', 'upstream connection lost');
    this.fail(new PgError('08006', 'connection to the data product upstream was lost', 'FATAL'));
  }

  private onUpstreamData(chunk: Buffer): void {
    let out: Buffer[];
    try {
      out = this.relay!.relay(chunk);
    } catch (error) {
      this.event('upstream_failure', error instanceof Error ? error.message : 'invalid upstream message');
      return this.fail(new PgError('08006', 'the data product upstream sent an invalid message', 'FATAL'));
    }
    if (out.length > 0 && this.phase !== 'closed') this.output.send(out.length === 1 ? out[0]! : Buffer.concat(out));
    this.watchStatementTime();
    if (this.draining && this.idle) this.drain();
    this.returnUpstream();
  }

  // ---------------------------------------------------------------- lifecycle

  private armIdleTimer(): void {
    const ms = this.host.options.limits.idleTimeoutMs;
    // Idle inside a transaction counts too: such a session holds an upstream connection and locks.
    if (this.phase !== 'ready' || !this.pipeline!.quiet) return;
    this.clocks.idleFrom(ms, () =>
      this.fail(new PgError('57P05', 'terminating connection due to idle-session timeout', 'FATAL'), 'limit_exceeded'),
    );
  }

  private event(kind: SessionEvent['kind'], detail: string): void {
    this.host.options.observer.sessionEvent({
      kind,
      at: new Date(),
      sessionId: this.sessionId,
      user: this.startup.request?.user,
      clientAddress: this.clientAddress,
      dataProduct: this.startup.request?.database,
      detail,
      ...(this.upstream.pooled ? { pooled: true as const } : {}),
    });
  }

  /** Sends the error and ends this session only. */
  fail(error: PgError, kind?: SessionEvent['kind']): void {
    if (this.phase === 'closed') return;
    if (kind) this.event(kind, error.message);
    this.terminate(error);
  }

  private terminate(error: PgError): void {
    if (this.phase === 'closed') return;
    this.output.flushHeld();
    this.socket.end(error.toErrorResponse());
    this.close();
  }

  /** A method, not a field test: the phase changes behind awaits TypeScript cannot see. */
  private isClosed(): boolean {
    return this.phase === 'closed';
  }

  close(): void {
    if (this.phase === 'closed') return;
    const wasReady = this.phase === 'ready';
    this.phase = 'closed';
    this.clocks.stop();
    this.timeLimit.clear();
    const inFlight = this.pipeline !== undefined && !this.pipeline.quiet;
    // Statements whose answer had not fully arrived are still audited: a client may leave as soon
    // as it has read an error, before upstream's ReadyForQuery reaches the proxy.
    this.pipeline?.abandon();
    this.upstream.close(this.pipeline, inFlight, this.cancelling !== undefined);
    if (!this.socket.destroyed) this.socket.destroySoon?.();
    this.host.unregister(this);
    if (wasReady) this.event('session_end', 'session ended');
  }
}
