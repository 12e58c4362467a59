/**
 * One analyst connection: startup, authentication, then a relay between the client and a dedicated
 * upstream connection. Every SQL text (Query, Parse) passes the StatementGate; only what it returns
 * goes upstream. A refused statement is replaced upstream by a sentinel statement that fails, so
 * PostgreSQL itself produces the error at the right place in the response stream (pipelines,
 * discard-until-Sync, aborted transactions behave exactly as without pgveil) and pgveil swaps
 * upstream's error for the refusal on the way back.
 */
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { randomBytes, randomInt } from 'node:crypto';
import { BackendCode, FrontendCode } from '../protocol/message-codes';
import * as write from '../protocol/message-writer';
import {
  ACCEPTED_FRONTEND_CODES,
  FrontendDecoder,
  readBindNames,
  readExecutePortal,
  readParse,
  readQuery,
  readTarget,
  type FrontendMessage,
} from '../protocol/frontend-decoder';
import { decodeFields, PgError, protocolViolation } from '../pg-error';
import { openUpstream, sendUpstreamCancel, type UpstreamSession } from '../upstream/upstream-connection';
import type { UpstreamTarget } from '../upstream/upstream-target';
import type { ProxyOptions } from '../proxy-options';
import type { SessionInfo, SessionEvent } from '../statement-gate';
import { refusal, type Refusal, type RewriteOutcome, type RewritePlan } from '../../rewriter/rewrite-types';
import { SessionSettings, type TransactionStatus } from './session-settings';
import { DecidedObjects, type Decided } from './decided-objects';
import { freshness, type Freshness } from './decision-freshness';
import { quoteIdent } from '../../rewriter/quote-ident';
import { interpretStartup, type StartupRequest } from './startup-parameters';
import { ClientAuthentication } from './client-authentication';
import { errorAtOriginalPosition, refusalResponse } from './error-position';

export interface SessionHost {
  readonly options: ProxyOptions;
  readonly secureContext: SecureContext | undefined;
  /** Random per process: derives decoy SCRAM salts for unknown users. */
  readonly decoySecret: Buffer;
  register(session: ClientSession): void;
  unregister(session: ClientSession): void;
  cancel(processId: number, secretKey: number): void;
}

interface Statement {
  readonly sql: string;
  readonly outcome: RewriteOutcome;
  /** The Parse's parameter types (count and OIDs), to prepare it again under a new decision. */
  readonly parameterTypes?: Buffer;
}

/** A bound portal as upstream holds it; rows count across every Execute of the portal. */
interface Portal {
  readonly statement: Statement | undefined;
  rows: number;
  /** When the client bound it (ms): an Execute later than PORTAL_FRESH_MS checks its decision. */
  readonly boundAt: number;
}

interface StatementError {
  readonly sqlstate: string;
  readonly message: string;
}

/** One statement run, as audited. */
interface Execution {
  statement: Statement | undefined;
  readonly started: Date;
  readonly t0: bigint;
  rows: number;
  overLimit?: boolean;
  /** Past the principal's time limit: cancelled upstream, answered with 57014. */
  overTime?: boolean;
}

/**
 * A message whose answer is still coming, in the order the client sent it. Prepared statements
 * and portals change only when upstream confirms (ParseComplete, BindComplete, CloseComplete):
 * a Parse that upstream rejects (a reused name, a refusal's sentinel) leaves the old statement in
 * place, exactly as PostgreSQL does, so what is audited and limited is what really runs.
 */
type Pending =
  | ({ kind: 'simple'; error?: StatementError; completed: number } & Execution & { statement: Statement })
  | { kind: 'parse'; name: string; statement: Statement; hidden?: true }
  | { kind: 'bind'; portal: string; statementName: string; boundAt: number; refusal?: Refusal }
  | { kind: 'close'; target: 'statement' | 'portal'; name: string; hidden?: true }
  | { kind: 'describe' }
  | ({ kind: 'execute'; portalName: string; portal: Portal | undefined; resolved: boolean; refusal?: Refusal } & Execution)
  | { kind: 'sync' }
  /** pgveil's own Query (preparing a SQL prepared statement again): its answer is not the client's. */
  | { kind: 'hidden-query'; failed: boolean; onSuccess: () => void };

type Phase = 'startup' | 'authenticating' | 'connecting' | 'ready' | 'closed';

const CLIENT_BUFFER_HIGH_WATER = 4 * 1024 * 1024;

/**
 * A portal executed within this long of its Bind runs on the decision checked at the Bind:
 * shorter than a grant or revocation takes to reach pgveil (the attribute refresh), so nothing a
 * decision change could have reached is skipped.
 */
const PORTAL_FRESH_MS = 20;

export class ClientSession {
  readonly sessionId = randomBytes(8).toString('hex');
  readonly processId = randomInt(1, 2 ** 31 - 1);
  readonly secretKey = randomInt(-(2 ** 31), 2 ** 31 - 1);
  /** Appears in the sentinel statement of a refusal; unguessable, so no analyst SQL can forge it. */
  private readonly refusalToken = randomBytes(12).toString('hex');

  private socket: Socket;
  private phase: Phase = 'startup';
  private readonly decoder: FrontendDecoder;
  private startup: StartupRequest | undefined;
  private auth: ClientAuthentication | undefined;
  private info: SessionInfo | undefined;
  private target: UpstreamTarget | undefined;
  private upstream: UpstreamSession | undefined;
  private upstreamBuffer: Buffer = Buffer.alloc(0);

  private readonly statements = new Map<string, Statement>();
  private readonly portals = new Map<string, Portal>();
  /** search_path and purpose as upstream holds them, through transactions and savepoints. */
  private settings: SessionSettings | undefined;
  private readonly decided = new DecidedObjects();
  private statementTimer: NodeJS.Timeout | undefined;
  private timedStatement: Execution | undefined;
  /** How long a statement of this principal may run (its latest decision says). */
  private timeLimitMs: number | undefined;
  private readonly pending: Pending[] = [];
  private transactionStatus = 0x49; // 'I'
  /** An extended-protocol message failed: upstream ignores everything until the next Sync. */
  private skippingToSync = false;
  private cancelling: Promise<void> | undefined;
  private readonly outbox: Buffer[] = [];
  private pumping = false;
  private draining = false;
  private startupTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    socket: Socket,
    private readonly host: SessionHost,
    /** Set when the session is over a limit: it is refused right after its startup packet. */
    private readonly rejection?: PgError,
  ) {
    this.socket = socket;
    this.decoder = new FrontendDecoder(host.options.limits.maxMessageBytes);
    socket.setNoDelay(true);
    this.attachClient(socket);
    this.startupTimer = setTimeout(() => this.fail(new PgError('08P01', 'startup timed out', 'FATAL'), 'limit_exceeded'), host.options.limits.startupTimeoutMs);
  }

  get clientAddress(): string {
    return this.socket.remoteAddress ?? 'unknown';
  }

  /** True between statements: nothing in flight. */
  get idle(): boolean {
    return this.phase !== 'ready' || (this.pending.length === 0 && !this.pumping);
  }

  /** Called on SIGTERM: let the running statement and any open transaction finish, then end. */
  drain(): void {
    this.draining = true;
    const quiescent = this.idle && this.transactionStatus === 0x49;
    if (this.phase !== 'ready' || quiescent) this.terminate(new PgError('57P01', 'terminating connection due to administrator command', 'FATAL'));
  }

  cancelUpstream(): Promise<void> {
    if (!this.target || !this.upstream) return Promise.resolve();
    return sendUpstreamCancel(this.target, this.upstream.processId, this.upstream.secretKey);
  }

  // ---------------------------------------------------------------- client side

  private attachClient(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => this.onClientData(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  private onClientData(chunk: Buffer): void {
    this.decoder.push(chunk);
    if (this.decoder.buffered > CLIENT_BUFFER_HIGH_WATER) this.socket.pause();
    void this.pump();
  }

  /** Handles buffered messages one at a time; async steps (gate, auth) hold the rest back. */
  private async pump(): Promise<void> {
    if (this.pumping || this.phase === 'closed') return;
    this.pumping = true;
    try {
      while (!this.isClosed()) {
        if (this.phase === 'startup') {
          const packet = this.decoder.nextStartupPacket();
          if (!packet) break;
          await this.onStartupPacket(packet);
          continue;
        }
        if (this.phase === 'connecting') break;
        if (this.cancelling) await this.cancelling;
        const message = this.decoder.next();
        if (!message) break;
        this.clearIdleTimer();
        if (this.phase === 'authenticating') await this.onAuthMessage(message);
        else {
          // Most messages are handled synchronously; only a gate that must wait returns a promise.
          const handled = this.onMessage(message);
          if (handled) await handled;
        }
      }
    } catch (error) {
      this.fail(error instanceof PgError ? error : protocolViolation('invalid message'), 'protocol_violation');
    } finally {
      this.pumping = false;
      this.flushUpstream();
      this.watchStatementTime();
      if (this.decoder.buffered <= CLIENT_BUFFER_HIGH_WATER && this.socket.isPaused()) this.socket.resume();
      this.armIdleTimer();
    }
  }

  private async onStartupPacket(packet: NonNullable<ReturnType<FrontendDecoder['nextStartupPacket']>>): Promise<void> {
    switch (packet.kind) {
      case 'ssl-request':
        // Bytes sent in the clear behind an SSLRequest would be read as if they came over TLS
        // (the pattern of CVE-2021-23214): the client must wait for our answer.
        if (this.decoder.buffered > 0) throw protocolViolation('received unencrypted data after ssl request');
        if (this.host.secureContext && !(this.socket instanceof TLSSocket)) {
          this.socket.write(Buffer.from('S'));
          this.upgradeToTls(this.host.secureContext);
        } else this.socket.write(Buffer.from('N'));
        return;
      case 'gssenc-request':
        this.socket.write(Buffer.from('N'));
        return;
      case 'cancel-request':
        this.host.cancel(packet.processId, packet.secretKey);
        this.close();
        return;
      case 'startup':
        if (this.rejection) return this.fail(this.rejection, 'limit_exceeded');
        this.decoder.endStartupPhase();
        this.startup = interpretStartup(packet.parameters);
        this.auth = new ClientAuthentication(this.host.options.identity, this.startup.user, this.socket instanceof TLSSocket, this.host.decoySecret);
        this.socket.write(this.auth.begin());
        this.phase = 'authenticating';
        return;
    }
  }

  private upgradeToTls(context: SecureContext): void {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('error');
    plain.removeAllListeners('close');
    const secure = new TLSSocket(plain, { isServer: true, secureContext: context });
    this.socket = secure;
    this.attachClient(secure);
  }

  private async onAuthMessage(message: FrontendMessage): Promise<void> {
    if (message.code !== FrontendCode.Password || !this.auth || !this.startup) throw protocolViolation('expected an authentication response');
    const step = await this.auth.step(message);
    if (step.kind === 'continue') {
      this.socket.write(step.reply);
      return;
    }
    if (step.kind === 'failed') {
      this.event('auth_failure', step.reason);
      await delay(this.host.options.limits.authFailureDelayMs);
      this.fail(new PgError('28P01', `password authentication failed for user "${this.startup.user}"`, 'FATAL'));
      return;
    }
    const target = this.host.options.route(this.startup.database);
    if (!target) {
      this.fail(new PgError('3D000', `database "${this.startup.database}" does not exist`, 'FATAL'));
      return;
    }
    this.phase = 'connecting';
    if (step.final) this.socket.write(step.final);
    const resolved = await this.host.options.identity.resolvePrincipal(this.startup.user, step.claims);
    if (!resolved.ok) {
      this.event('auth_failure', resolved.reason);
      this.fail(new PgError('28000', `attributes of user "${this.startup.user}" are unavailable: ${resolved.reason}`, 'FATAL'));
      return;
    }
    this.event('auth_success', 'authenticated');
    const principal = this.startup.purpose === undefined ? resolved.principal : { ...resolved.principal, purpose: this.startup.purpose };
    const searchPath = parseSearchPath(this.startup.upstream.get('search_path') ?? '"$user", public');
    if (searchPath.indexOf('pg_catalog') > 0) {
      this.fail(new PgError('42501', 'search_path must not place pg_catalog after other schemas', 'FATAL'));
      return;
    }
    this.info = {
      sessionId: this.sessionId,
      principal,
      dataProduct: this.startup.database,
      searchPath,
      applicationName: this.startup.applicationName,
      clientAddress: this.clientAddress,
    };
    // What the session started with is what RESET returns to.
    this.settings = new SessionSettings({ searchPath, purpose: principal.purpose });
    try {
      this.target = target;
      this.upstream = await openUpstream(target, this.startup.upstream);
    } catch (error) {
      this.event('upstream_failure', error instanceof Error ? error.message : 'upstream unavailable');
      this.fail(error instanceof PgError ? error : new PgError('08001', 'data product upstream is unavailable', 'FATAL'));
      return;
    }
    if (this.isClosed()) {
      this.upstream.socket.destroy();
      return;
    }
    clearTimeout(this.startupTimer);
    this.startupTimer = undefined;
    this.host.register(this);
    this.event('session_start', 'session started');
    const greeting: Buffer[] = [write.authenticationOk()];
    for (const [name, value] of this.upstream.parameters) greeting.push(this.presentParameter(name, value));
    greeting.push(write.backendKeyData(this.processId, this.secretKey), write.readyForQuery(0x49));
    this.socket.write(Buffer.concat(greeting));
    this.attachUpstream(this.upstream);
    this.phase = 'ready';
  }

  /** The analyst sees their own name, never the service account's. */
  private presentParameter(name: string, value: string): Buffer {
    if (name === 'session_authorization') return write.parameterStatus(name, this.startup?.user ?? '');
    if (name === 'is_superuser') return write.parameterStatus(name, 'off');
    return write.parameterStatus(name, value);
  }

  private onMessage(message: FrontendMessage): void | Promise<void> {
    const code = message.code;
    if (!ACCEPTED_FRONTEND_CODES.has(code)) {
      const what = code === FrontendCode.FunctionCall ? 'function call messages are not allowed' : `invalid frontend message type ${code}`;
      throw protocolViolation(what);
    }
    switch (code) {
      case FrontendCode.Query:
        return this.onQuery(readQuery(message));
      case FrontendCode.Parse:
        return this.onParse(message);
      case FrontendCode.Bind:
        return this.onBind(message);
      case FrontendCode.Execute:
        return this.onExecute(message);
      case FrontendCode.Close: {
        const { kind, name } = readTarget(message);
        this.pending.push({ kind: 'close', target: kind, name });
        return this.toUpstream(message.frame);
      }
      case FrontendCode.Describe:
        readTarget(message);
        this.pending.push({ kind: 'describe' });
        return this.toUpstream(message.frame);
      case FrontendCode.Sync:
        this.pending.push({ kind: 'sync' });
        return this.toUpstream(message.frame);
      case FrontendCode.Terminate:
        this.close();
        return;
      case FrontendCode.CopyData:
      case FrontendCode.CopyDone:
      case FrontendCode.CopyFail:
        // COPY FROM is refused by the gate, so no copy-in is ever running: PostgreSQL ignores these too.
        return;
      default:
        // Flush: no answer of its own.
        return this.toUpstream(message.frame);
    }
  }

  private check(sql: string): RewriteOutcome | Promise<RewriteOutcome> {
    const info = this.info!;
    if (!this.host.options.observer.readyForStatements()) {
      return refusal('53000', 'audit log unavailable: statement refused', ['audit_unavailable'], '');
    }
    return then(this.host.options.gate.check(sql, info), (outcome) => {
      // The limit follows the principal's latest decision (an attribute may change it).
      if (outcome.kind === 'plan') this.timeLimitMs = outcome.timeLimitMs;
      return outcome;
    });
  }

  /**
   * The statement at the head of the queue may run for the principal's time limit, counted from
   * when it reached the head. Past it pgveil cancels it upstream (and answers 57014); when other
   * statements are queued behind it, a cancel could hit one of them instead, so the session ends.
   */
  private watchStatementTime(): void {
    const running = this.pending.find((p): p is Extract<Pending, { kind: 'simple' | 'execute' }> => p.kind === 'simple' || p.kind === 'execute');
    if (running === this.timedStatement) return;
    clearTimeout(this.statementTimer);
    this.statementTimer = undefined;
    this.timedStatement = running;
    const limit = this.timeLimitMs;
    if (!running || limit === undefined || this.phase !== 'ready') return;
    this.statementTimer = setTimeout(() => {
      if (this.timedStatement !== running || this.phase !== 'ready') return;
      const message = `statement ran longer than ${limit} ms, the limit for user "${this.info?.principal.user ?? ''}"`;
      this.event('limit_exceeded', message);
      const queuedBehind = this.pending.filter((p) => p.kind === 'simple' || p.kind === 'execute').length > 1;
      if (queuedBehind) return this.fail(new PgError('57014', `terminating connection: ${message}`, 'FATAL'));
      running.overTime = true;
      this.cancelling = this.cancelUpstream().finally(() => (this.cancelling = undefined));
    }, limit);
  }

  private onQuery(sql: string): void | Promise<void> {
    const started = new Date();
    const t0 = process.hrtime.bigint();
    const send = (outcome: RewriteOutcome): void => {
      this.pending.push({ kind: 'simple', statement: { sql, outcome }, started, t0, rows: 0, completed: 0 });
      this.toUpstream(write.query(this.upstreamText(outcome)));
    };
    return then(then(this.check(sql), (outcome) => this.checkUses(outcome, 'simple')), send);
  }

  private onParse(message: FrontendMessage): void | Promise<void> {
    const parse = readParse(message);
    const t0 = process.hrtime.bigint();
    return then(then(this.check(parse.sql), (outcome) => this.checkUses(outcome, 'extended')), (outcome) => this.sendParse(parse, t0, outcome));
  }

  private sendParse(parse: ReturnType<typeof readParse>, t0: bigint, outcome: RewriteOutcome, hidden?: true): void {
    const statement: Statement = { sql: parse.sql, outcome, parameterTypes: parse.parameterTypes };
    this.pending.push({ kind: 'parse', name: parse.name, statement, ...(hidden ? { hidden } : {}) });
    if (outcome.kind === 'refusal') {
      this.report('extended', { statement, started: new Date(), t0, rows: 0 }, { sqlstate: outcome.sqlstate, message: outcome.message });
    }
    this.toUpstream(write.parse(parse.name, this.upstreamText(outcome), parse.parameterTypes));
  }

  /**
   * A Bind runs a statement prepared earlier: if its decision changed since (policy, attributes,
   * grants, purpose, search_path), it is rewritten and prepared again upstream under the same
   * name before the Bind, and the client notices nothing; refused now, the Bind fails with the refusal.
   */
  private onBind(message: FrontendMessage): void | Promise<void> {
    const { portal, statement: name } = readBindNames(message);
    const forward = (): void => {
      this.pending.push({ kind: 'bind', portal, statementName: name, boundAt: Date.now() });
      this.toUpstream(message.frame);
    };
    const statement = this.statements.get(name);
    // A Parse still in flight was decided just now.
    const parsing = this.pending.some((p) => p.kind === 'parse' && p.name === name);
    if (!parsing && !statement && this.decided.prepared.has(name)) return this.refuseBind(portal, name);
    if (parsing || !statement || statement.outcome.kind !== 'plan') return forward();
    const checked = freshness(this.host.options.gate, this.info!, { sql: statement.sql, rewritten: statement.outcome.sql, stamp: statement.outcome.stamp });
    return then(checked, (fresh) => {
      if (fresh.current) {
        if (fresh.outcome) this.statements.set(name, { ...statement, outcome: fresh.outcome });
      } else {
        if (name !== '') {
          this.pending.push({ kind: 'close', target: 'statement', name, hidden: true });
          this.toUpstream(write.close('S', name));
        }
        const types = statement.parameterTypes ?? Buffer.from([0, 0]);
        this.sendParse({ name, sql: statement.sql, parameterTypes: types }, process.hrtime.bigint(), fresh.outcome, true);
      }
      forward();
    });
  }

  /**
   * A Bind of a statement made by SQL PREPARE: pgveil knows its decision only as SQL text, so the
   * portal could not be audited, limited or checked again at each Execute. Refused (use EXECUTE):
   * a Bind of a statement that cannot exist fails upstream where this one stood, and its error,
   * which carries the refusal token, is swapped for the refusal.
   */
  private refuseBind(portal: string, name: string): void {
    const refused = refusal('0A000', `binding statement "${name}", prepared with SQL PREPARE, is not supported through pgveil: run it with EXECUTE`, ['bind_sql_prepared'], '');
    this.pending.push({ kind: 'bind', portal, statementName: name, boundAt: Date.now(), refusal: refused });
    this.report('extended', { statement: { sql: `Bind of "${name}"`, outcome: refused }, started: new Date(), t0: process.hrtime.bigint(), rows: 0 }, { sqlstate: refused.sqlstate, message: refused.message });
    this.toUpstream(write.bind(portal, `pgveil refused ${this.refusalToken}`));
  }

  /**
   * An Execute of a portal runs only while its decision holds. One bound a moment ago (Bind and
   * Execute in one batch, the usual case) was checked at its Bind; any later one is checked again,
   * however the client spaced its messages.
   */
  private onExecute(message: FrontendMessage): void | Promise<void> {
    const portalName = readExecutePortal(message);
    const execution = { kind: 'execute' as const, portalName, portal: undefined, resolved: false, statement: undefined, started: new Date(), t0: process.hrtime.bigint(), rows: 0 };
    const forward = (): void => {
      this.pending.push(execution);
      this.toUpstream(message.frame);
    };
    const portal = this.portals.get(portalName);
    const statement = portal?.statement;
    if (!portal || Date.now() - portal.boundAt <= PORTAL_FRESH_MS || statement?.outcome.kind !== 'plan') return forward();
    const checked = freshness(this.host.options.gate, this.info!, { sql: statement.sql, rewritten: statement.outcome.sql, stamp: statement.outcome.stamp });
    return then(checked, (fresh) => {
      if (fresh.current) return forward();
      const refused = staleRefusal(`portal "${portalName}"`, fresh.outcome);
      // An Execute of a portal that cannot exist fails upstream where this one stood; its error
      // carries the refusal token and is swapped for the refusal on the way back.
      this.pending.push({ ...execution, refusal: refused });
      this.toUpstream(write.execute(`pgveil refused ${this.refusalToken}`, 0));
    });
  }

  /**
   * EXECUTE and FETCH run what an earlier PREPARE or DECLARE decided. A cursor whose decision no
   * longer holds is refused; a prepared statement is prepared again first (a Query of pgveil's own
   * that the client does not see), or refused when the new decision refuses it.
   */
  private checkUses(outcome: RewriteOutcome, protocol: 'simple' | 'extended'): RewriteOutcome | Promise<RewriteOutcome> {
    if (outcome.kind !== 'plan' || outcome.effects.length === 0) return outcome;
    let result: RewriteOutcome | Promise<RewriteOutcome> = outcome;
    for (const use of outcome.effects) {
      if (use.kind !== 'execute' && use.kind !== 'fetch') continue;
      // SQL and protocol-level prepared statements share one namespace upstream, as do cursors and portals.
      const sqlPrepared = use.kind === 'execute' ? this.decided.prepared.get(use.name) : undefined;
      const decided = use.kind === 'execute' ? sqlPrepared ?? decidedOf(this.statements.get(use.name)) : this.decided.cursors.get(use.name) ?? decidedOf(this.portals.get(use.name)?.statement);
      if (!decided) continue;
      result = then<RewriteOutcome, RewriteOutcome>(result, (sofar) => {
        if (sofar.kind !== 'plan') return sofar;
        const audited: RewritePlan = { ...sofar, reasons: [...sofar.reasons, ...decided.reasons], relations: [...new Set([...sofar.relations, ...decided.relations])] };
        return then(freshness(this.host.options.gate, this.info!, decided), (fresh): RewriteOutcome => {
          if (fresh.current) return audited;
          if (use.kind === 'fetch') return staleRefusal(`cursor "${use.name}"`, fresh.outcome);
          if (fresh.outcome.kind !== 'plan' || protocol !== 'simple' || !sqlPrepared) return staleRefusal(`prepared statement "${use.name}"`, fresh.outcome);
          this.prepareAgain(use.name, fresh.outcome);
          return { ...audited, reasons: [...sofar.reasons, ...fresh.outcome.reasons] };
        });
      });
    }
    return result;
  }

  /** Deallocates and prepares a SQL prepared statement again, ahead of the client's Query. */
  private prepareAgain(name: string, plan: RewritePlan): void {
    const effect = plan.effects.find((e) => e.kind === 'prepare');
    const hidden: Pending = { kind: 'hidden-query', failed: false, onSuccess: () => effect && this.decided.apply(effect, plan) };
    this.pending.push(hidden);
    this.toUpstream(write.query(`DEALLOCATE ${quoteIdent(name)};\n${plan.sql}`));
  }

  /** The rewritten SQL, or for a refusal a statement that fails upstream where the refused one stood. */
  private upstreamText(outcome: RewriteOutcome): string {
    if (outcome.kind === 'plan') return outcome.sql;
    return `SELECT "pgveil refused ${this.refusalToken}"`;
  }

  /** Frames for upstream wait here until the messages at hand are handled: one write for all. */
  private toUpstream(frame: Buffer): void {
    this.outbox.push(frame);
  }

  private flushUpstream(): void {
    const upstream = this.upstream;
    if (!upstream || this.outbox.length === 0) return;
    const data = this.outbox.length === 1 ? this.outbox[0]! : Buffer.concat(this.outbox);
    this.outbox.length = 0;
    if (!upstream.socket.write(data)) {
      this.socket.pause();
      upstream.socket.once('drain', () => this.socket.resume());
    }
  }

  // ---------------------------------------------------------------- upstream side

  private attachUpstream(upstream: UpstreamSession): void {
    upstream.socket.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    upstream.socket.on('error', () => this.upstreamLost());
    upstream.socket.on('close', () => this.upstreamLost());
    if (upstream.leftover.length > 0) this.onUpstreamData(upstream.leftover);
  }

  private upstreamLost(): void {
    if (this.phase === 'closed') return;
    this.event('upstream_failure', 'upstream connection lost');
    this.fail(new PgError('08006', 'connection to the data product upstream was lost', 'FATAL'));
  }

  /**
   * Relays whole frames. Runs of frames that pass unchanged are written as one slice; only the
   * frames the proxy must look at are decoded. DataRows are counted, never re-encoded.
   */
  private onUpstreamData(chunk: Buffer): void {
    const buf = this.upstreamBuffer.length === 0 ? chunk : Buffer.concat([this.upstreamBuffer, chunk]);
    let pos = 0;
    let runStart = 0;
    const out: Buffer[] = [];
    while (pos + 5 <= buf.length) {
      const code = buf[pos]!;
      const end = pos + 1 + buf.readUInt32BE(pos + 1);
      if (end > buf.length) break;
      if (code === BackendCode.DataRow) {
        const head = this.running();
        if (head) {
          const limit = head.statement?.outcome.kind === 'plan' ? head.statement.outcome.rowLimit : undefined;
          // A portal's rows count across all its Executes: max-rows fetching is one statement.
          const portal = head.kind === 'execute' ? head.portal : undefined;
          if (limit === undefined || (portal ?? head).rows < limit) {
            head.rows++;
            if (portal) portal.rows++;
          } else {
            // Over the principal's row limit: relay no more rows and stop the query upstream.
            if (pos > runStart) out.push(buf.subarray(runStart, pos));
            runStart = end;
            if (!head.overLimit) {
              head.overLimit = true;
              // Rows past the limit are dropped either way; the query is cancelled only when no
              // other statement is queued behind it, which a cancel could hit instead.
              const queuedBehind = this.pending.some((p, i) => i > 0 && (p.kind === 'simple' || p.kind === 'execute'));
              // Nothing more goes upstream until the cancel has landed: a late cancel must not
              // hit the client's next statement instead of this one.
              if (!queuedBehind) this.cancelling = this.cancelUpstream().finally(() => (this.cancelling = undefined));
            }
          }
        }
      } else if (INSPECTED.has(code)) {
        if (pos > runStart) out.push(buf.subarray(runStart, pos));
        const replacement = this.onUpstreamFrame(code, buf.subarray(pos, end));
        if (replacement) out.push(replacement);
        runStart = end;
      }
      pos = end;
    }
    if (pos > runStart) out.push(buf.subarray(runStart, pos));
    this.upstreamBuffer = pos < buf.length ? Buffer.from(buf.subarray(pos)) : Buffer.alloc(0);
    if (out.length > 0 && this.phase !== 'closed') {
      const flushed = this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      if (!flushed && this.upstream) {
        // Backpressure: stop reading upstream until the client has taken what it was sent.
        const upstream = this.upstream.socket;
        upstream.pause();
        this.socket.once('drain', () => upstream.resume());
      }
    }
    this.watchStatementTime();
    if (this.draining && this.idle) this.drain();
  }

  /** The head of the queue when it is a statement whose answer is arriving, its portal resolved. */
  private running(): Extract<Pending, { kind: 'simple' | 'execute' }> | undefined {
    const head = this.pending[0];
    if (head?.kind === 'execute' && !head.resolved) {
      // Resolved only now: every Bind sent before this Execute has been answered by upstream.
      head.resolved = true;
      head.portal = this.portals.get(head.portalName);
      head.statement = head.portal?.statement;
    }
    return head?.kind === 'simple' || head?.kind === 'execute' ? head : undefined;
  }

  /** Returns what the client gets instead of the frame (undefined: nothing). */
  private onUpstreamFrame(code: number, frame: Buffer): Buffer | undefined {
    const head = this.pending[0];
    if (head?.kind === 'hidden-query') return this.onHiddenQueryFrame(head, code, frame);
    const run = this.running();
    if (run?.overTime && code === BackendCode.ErrorResponse) {
      // Upstream answers the cancel pgveil sent when the statement ran past its time limit.
      const error = { sqlstate: '57014', message: `canceling statement: it ran longer than ${this.timeLimitMs ?? 0} ms, the limit for user "${this.info?.principal.user ?? ''}"` };
      run.overTime = false;
      this.failHead(error);
      return new PgError(error.sqlstate, error.message).toErrorResponse();
    }
    if (run?.overLimit && (code === BackendCode.ErrorResponse || code === BackendCode.CommandComplete || code === BackendCode.PortalSuspended)) {
      const limit = run.statement?.outcome.kind === 'plan' ? run.statement.outcome.rowLimit : 0;
      const error = { sqlstate: '54000', message: `statement returned more than ${limit} rows, the limit for user "${this.info?.principal.user ?? ''}"` };
      run.overLimit = false;
      // Upstream skips to the next Sync only when the query itself failed (cancelled in time).
      if (code === BackendCode.ErrorResponse) this.failHead(error);
      else if (run.kind === 'execute') this.finish(error);
      else run.error ??= error;
      return new PgError(error.sqlstate, error.message).toErrorResponse();
    }
    switch (code) {
      case BackendCode.ErrorResponse: {
        const fields = decodeFields(frame);
        let error = { sqlstate: fields.get('C') ?? 'XX000', message: fields.get('M') ?? '' };
        let forClient: Buffer = frame;
        if (error.message.includes(this.refusalToken)) {
          // The sentinel of a refused statement fails where the refused statement stood: at its
          // Parse, its Query or its Execute, which is the head of the queue now.
          const outcome = head?.kind === 'parse' || head?.kind === 'simple' ? head.statement.outcome : head?.kind === 'execute' || head?.kind === 'bind' ? head.refusal : undefined;
          error = outcome?.kind === 'refusal' ? { sqlstate: outcome.sqlstate, message: outcome.message } : { sqlstate: '42501', message: 'statement refused' };
          forClient = refusalResponse(error.sqlstate, error.message, outcome?.kind === 'refusal' ? outcome.position : undefined);
        } else {
          // A position into the rewritten text is moved to the analyst's text, or left out.
          const statement = head?.kind === 'parse' || head?.kind === 'simple' || head?.kind === 'execute' ? head.statement : undefined;
          forClient = errorAtOriginalPosition(frame, fields, statement?.sql, statement?.outcome.kind === 'plan' ? statement.outcome.sql : undefined);
        }
        this.failHead(error);
        return forClient;
      }
      case BackendCode.ParseComplete:
        if (head?.kind === 'parse') {
          this.pending.shift();
          this.statements.set(head.name, head.statement);
          if (head.hidden) return undefined;
        }
        return frame;
      case BackendCode.BindComplete:
        if (head?.kind === 'bind') {
          this.pending.shift();
          this.portals.set(head.portal, { statement: this.statements.get(head.statementName), rows: 0, boundAt: head.boundAt });
        }
        return frame;
      case BackendCode.CloseComplete:
        if (head?.kind === 'close') {
          this.pending.shift();
          (head.target === 'statement' ? this.statements : this.portals).delete(head.name);
          if (head.hidden) return undefined;
        }
        return frame;
      case BackendCode.RowDescription:
      case BackendCode.NoData:
        if (head?.kind === 'describe') this.pending.shift();
        return frame;
      case BackendCode.CommandComplete:
        // Effects apply as upstream confirms each statement: a SET before a failing statement of
        // the same Query applied, then undone with its implicit transaction.
        if (head?.kind === 'simple' && head.statement.outcome.kind === 'plan') this.applyEffects(head.statement.outcome, head.completed++);
        else if (head?.kind === 'execute') this.finish(undefined, true);
        return frame;
      case BackendCode.EmptyQueryResponse:
      case BackendCode.PortalSuspended:
        if (head?.kind === 'execute') this.finish(undefined);
        return frame;
      case BackendCode.ReadyForQuery:
        this.transactionStatus = frame[5]!;
        this.transactionEnded(frame[5]!);
        this.settle();
        // Outside a transaction PostgreSQL holds no portals: neither does pgveil's map, which a
        // client binding ever new portal names would otherwise grow without bound.
        if (this.transactionStatus === 0x49) this.portals.clear();
        return frame;
      case BackendCode.ParameterStatus: {
        const [name = '', value = ''] = frame.toString('utf8', 5, frame.length - 1).split('\0');
        return this.presentParameter(name, value);
      }
      case BackendCode.CopyInResponse:
      case BackendCode.CopyBothResponse:
        // The gate never lets COPY FROM through; if upstream asks for data anyway, end the copy.
        this.upstream?.socket.write(write.copyFail('copy from the client is not allowed through pgveil'));
        return undefined;
      case BackendCode.Authentication:
      case BackendCode.BackendKeyData:
      case BackendCode.NegotiateProtocolVersion:
        return undefined;
      default:
        return frame;
    }
  }

  /** The message at the head of the queue failed upstream. */
  private failHead(error: StatementError): void {
    this.settings?.failed();
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
    // A failed Parse or Bind has already dropped the unnamed statement or portal it was replacing.
    if (head.kind === 'parse' && head.name === '') this.statements.delete('');
    if (head.kind === 'bind' && head.portal === '') this.portals.delete('');
  }

  /** ReadyForQuery: the Query or Sync it answers is done, and so is everything before it. */
  private settle(): void {
    const notRun = { sqlstate: '', message: 'not executed: an earlier message in the pipeline failed' };
    for (;;) {
      const p = this.pending.shift();
      if (!p || p.kind === 'sync') break;
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
  }

  private finish(error: StatementError | undefined, completed = false): void {
    this.running();
    const head = this.pending.shift();
    if (head?.kind !== 'execute') return;
    if (completed && head.statement?.outcome.kind === 'plan') this.applyEffects(head.statement.outcome, 0);
    this.report('extended', head, head.refusal && error ? { sqlstate: head.refusal.sqlstate, message: head.refusal.message } : error);
  }

  /** Upstream confirmed statement `index` of a plan: its effects now hold upstream. */
  private applyEffects(plan: RewritePlan, index: number): void {
    if (plan.effects.length === 0) return;
    for (const effect of plan.effects) {
      if (effect.statement !== index) continue;
      this.settings?.apply(effect);
      this.decided.apply(effect, plan);
    }
    this.syncSettings();
  }

  /** ReadyForQuery: a transaction may have ended, undoing or keeping what it set. */
  private transactionEnded(status: number): void {
    const s = String.fromCharCode(status) as TransactionStatus;
    this.settings?.readyForQuery(s);
    this.decided.readyForQuery(s);
    this.syncSettings();
  }

  /** The session as the gate sees it follows the settings upstream holds. */
  private syncSettings(): void {
    const info = this.info;
    const current = this.settings?.current;
    if (!info || !current || (current.searchPath === info.searchPath && current.purpose === info.principal.purpose)) return;
    this.info = { ...info, searchPath: current.searchPath, principal: { ...info.principal, purpose: current.purpose } };
  }

  /** pgveil's own Query: nothing of its answer reaches the client; success records what it prepared. */
  private onHiddenQueryFrame(head: Extract<Pending, { kind: 'hidden-query' }>, code: number, frame: Buffer): undefined {
    if (code === BackendCode.ErrorResponse) head.failed = true;
    if (code === BackendCode.ReadyForQuery) {
      this.pending.shift();
      this.transactionStatus = frame[5]!;
      this.transactionEnded(frame[5]!);
      if (!head.failed) head.onSuccess();
    }
    return undefined;
  }

  private report(protocol: 'simple' | 'extended', p: Execution, error: StatementError | undefined): void {
    if (!p.statement || !this.info) return;
    this.host.options.observer.statementFinished({
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

  // ---------------------------------------------------------------- lifecycle

  private armIdleTimer(): void {
    const ms = this.host.options.limits.idleTimeoutMs;
    // Idle inside a transaction counts too: such a session holds an upstream connection and locks.
    if (this.phase !== 'ready' || ms <= 0 || this.pending.length > 0) return;
    this.clearIdleTimer();
    this.idleTimer = setTimeout(() => this.fail(new PgError('57P05', 'terminating connection due to idle-session timeout', 'FATAL'), 'limit_exceeded'), ms);
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private event(kind: SessionEvent['kind'], detail: string): void {
    this.host.options.observer.sessionEvent({
      kind,
      at: new Date(),
      sessionId: this.sessionId,
      user: this.startup?.user,
      clientAddress: this.clientAddress,
      dataProduct: this.startup?.database,
      detail,
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
    this.socket.end(error.toErrorResponse());
    this.close();
  }

  private isClosed(): boolean {
    return this.phase === 'closed';
  }

  close(): void {
    if (this.phase === 'closed') return;
    const wasReady = this.phase === 'ready';
    this.phase = 'closed';
    clearTimeout(this.startupTimer);
    clearTimeout(this.statementTimer);
    this.clearIdleTimer();
    const inFlight = this.pending.length > 0;
    // Statements whose answer had not fully arrived are still audited: a client may leave as soon
    // as it has read an error, before upstream's ReadyForQuery reaches the proxy.
    while (this.pending.length > 0) {
      const p = this.running() ?? this.pending[0]!;
      this.pending.shift();
      if (p.kind !== 'simple' && p.kind !== 'execute') continue;
      const error = p.kind === 'simple' && p.error ? p.error : { sqlstate: '08006', message: 'session ended before the statement completed' };
      this.report(p.kind === 'simple' ? 'simple' : 'extended', p, error);
    }
    if (this.upstream) {
      // A client that leaves mid-statement must not leave its query running upstream.
      if (inFlight) this.cancelUpstream();
      this.upstream.socket.end(write.terminate());
      this.upstream.socket.destroySoon?.();
    }
    if (!this.socket.destroyed) this.socket.destroySoon?.();
    this.host.unregister(this);
    if (wasReady) this.event('session_end', 'session ended');
  }
}

/** Frames the proxy decodes; everything else passes through untouched. */
const INSPECTED: ReadonlySet<number> = new Set([
  BackendCode.ErrorResponse,
  BackendCode.ParseComplete,
  BackendCode.BindComplete,
  BackendCode.CloseComplete,
  BackendCode.RowDescription,
  BackendCode.NoData,
  BackendCode.CommandComplete,
  BackendCode.EmptyQueryResponse,
  BackendCode.PortalSuspended,
  BackendCode.ReadyForQuery,
  BackendCode.ParameterStatus,
  BackendCode.CopyInResponse,
  BackendCode.CopyBothResponse,
  BackendCode.Authentication,
  BackendCode.BackendKeyData,
  BackendCode.NegotiateProtocolVersion,
]);

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** search_path as the server spells it: comma-separated, identifiers possibly double-quoted. */
export function parseSearchPath(text: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([^,\s]+))\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text))) {
    if (m[1] !== undefined) out.push(m[1].replace(/""/g, '"'));
    else if (m[2] !== undefined) out.push(m[2].toLowerCase());
  }
  return out;
}

/** `next` now for a value, or once a promise resolves: the hot path stays free of promise hops. */
function then<T, U>(value: T | Promise<T>, next: (value: T) => U | Promise<U>): U | Promise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** The refusal of a prepared statement, portal or cursor whose decision no longer holds. */
function staleRefusal(what: string, now: RewriteOutcome): Refusal {
  const again = what.startsWith('cursor') ? 'declare it again' : 'prepare it again';
  const detail = now.kind === 'refusal' ? ` (now refused: ${now.message})` : '';
  return refusal('42501', `${what} was made under a decision that no longer holds: the policy, the user's attributes or grants, the purpose or the search_path changed${detail}; ${again}`, ['stale_decision', ...(now.kind === 'refusal' ? now.reasons : [])], now.policyVersion);
}

/** A protocol-level statement's decision, as a SQL EXECUTE or FETCH naming it must check it. */
function decidedOf(statement: Statement | undefined): Decided | undefined {
  const outcome = statement?.outcome;
  return statement && outcome?.kind === 'plan' ? { sql: statement.sql, rewritten: outcome.sql, stamp: outcome.stamp, reasons: outcome.reasons, relations: outcome.relations } : undefined;
}
