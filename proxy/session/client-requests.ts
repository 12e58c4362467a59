/**
 * What the client asks, and what goes upstream in its place. Every SQL text (Query, Parse) passes
 * the gate; only what it returns goes upstream. A refused statement is replaced upstream by a
 * sentinel statement that fails, so PostgreSQL itself produces the error at the right place in the
 * answers (pipelines, discard-until-Sync, aborted transactions behave exactly as without pgveil)
 * and the answers side swaps upstream's error for the refusal. Prepared statements, portals and
 * cursors run only while the decision they were made under holds.
 */
import { FrontendCode } from '../protocol/message-codes';
import * as write from '../protocol/message-writer';
import {
  ACCEPTED_FRONTEND_CODES,
  readBindNames,
  readExecutePortal,
  readParse,
  readQuery,
  readTarget,
  type FrontendMessage,
} from '../protocol/frontend-decoder';
import { protocolViolation } from '../pg-error';
import type { StatementGate } from '../statement-gate';
import { refusal, type Refusal, type RewriteOutcome } from '../../rewriter';
import { freshness } from './decision-freshness';
import type { Pending, PipelineLedger, Statement } from './pipeline-ledger';
import { then } from './maybe-async';
import { PooledStatements, unknownStatement } from './pooled-statements';
import { checkUses, sqlPreparedBind, staleRefusal, type UsesContext } from './earlier-decisions';

/**
 * A portal executed within this long of its Bind runs on the decision checked at the Bind:
 * shorter than a grant or revocation takes to reach pgveil (the attribute refresh), so nothing a
 * decision change could have reached is skipped.
 */
export const PORTAL_FRESH_MS = 20;

export interface RequestContext {
  readonly gate: StatementGate;
  /** False when statements must not run because they could not be audited. */
  readyForStatements(): boolean;
  /** Appears in the sentinel statement of a refusal; unguessable, so no analyst SQL can forge it. */
  readonly refusalToken: string;
  /** The client said Terminate. */
  terminate(): void;
  /** The time limit of the principal's latest decision. */
  timeLimitChanged(ms: number | undefined): void;
}

export class ClientRequests {
  /** Frames for upstream wait here until the messages at hand are handled: one write for all. */
  readonly outbox: Buffer[] = [];

  private readonly pooled: PooledStatements;
  private readonly uses: UsesContext;

  constructor(
    private readonly ledger: PipelineLedger,
    private readonly context: RequestContext,
  ) {
    this.pooled = new PooledStatements({
      ledger,
      send: (pending, frame) => this.send(pending, frame),
      upstreamText: (outcome) => this.upstreamText(outcome),
      sentinelName: () => this.sentinelName(),
    });
    this.uses = {
      ledger,
      gate: context.gate,
      pooled: this.pooled,
      send: (pending, frame) => this.send(pending, frame),
    };
  }

  /** Handles one client message; only a gate that must wait returns a promise. */
  handle(message: FrontendMessage): void | Promise<void> {
    const code = message.code;
    if (!ACCEPTED_FRONTEND_CODES.has(code)) {
      const what =
        code === FrontendCode.FunctionCall
          ? 'function call messages are not allowed'
          : `invalid frontend message type ${code}`;
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
        if (kind === 'portal') this.ledger.portalWork = true;
        if (this.ledger.connection && kind === 'statement') return this.pooled.close(name);
        return this.send({ kind: 'close', target: kind, name }, message.frame);
      }
      case FrontendCode.Describe: {
        const { kind, name } = readTarget(message);
        if (kind === 'portal') this.ledger.portalWork = true;
        if (this.ledger.connection && kind === 'statement') return this.pooled.describe(name);
        return this.send({ kind: 'describe' }, message.frame);
      }
      case FrontendCode.Sync:
        return this.send({ kind: 'sync' }, message.frame);
      case FrontendCode.Terminate:
        return this.context.terminate();
      case FrontendCode.CopyData:
      case FrontendCode.CopyDone:
      case FrontendCode.CopyFail:
        // COPY FROM is refused by the gate, so no copy-in is ever running: PostgreSQL ignores these too.
        return;
      default:
        // Flush: no answer of its own.
        this.outbox.push(message.frame);
    }
  }

  private send(pending: Pending, frame: Buffer): void {
    this.ledger.pending.push(pending);
    this.ledger.synced = false;
    if (pending.kind === 'simple' || pending.kind === 'bind' || pending.kind === 'execute')
      this.ledger.portalWork = true;
    this.outbox.push(frame);
  }

  /** Transaction pooling: what a statement does to the session decides when its connection can go back. */
  private noteEffects(outcome: RewriteOutcome): void {
    if (outcome.kind !== 'plan') return;
    for (const effect of outcome.effects) {
      if (effect.kind === 'set' || effect.kind === 'reset' || effect.kind === 'discard_all')
        this.ledger.settingsChanged = true;
      // Held until the session ends: pgveil cannot see the unlock of every lock it took.
      else if (effect.kind === 'session_lock') this.ledger.sessionLocked = true;
    }
  }

  private check(sql: string): RewriteOutcome | Promise<RewriteOutcome> {
    if (!this.context.readyForStatements())
      return refusal('53000', 'audit log unavailable: statement refused', ['audit_unavailable'], '');
    return then(this.context.gate.check(sql, this.ledger.info), (outcome) => {
      // The limit follows the principal's latest decision (an attribute may change it).
      if (outcome.kind === 'plan') this.context.timeLimitChanged(outcome.timeLimitMs);
      return outcome;
    });
  }

  private onQuery(sql: string): void | Promise<void> {
    const started = new Date();
    const t0 = process.hrtime.bigint();
    const send = (outcome: RewriteOutcome): void => {
      this.noteEffects(outcome);
      // A Query drops the unnamed statement upstream.
      if (this.ledger.connection) this.ledger.connection.unnamed = undefined;
      this.send(
        { kind: 'simple', statement: { sql, outcome }, started, t0, rows: 0, completed: 0 },
        write.query(this.upstreamText(outcome)),
      );
    };
    return then(
      then(this.check(sql), (outcome) => checkUses(this.uses, outcome, 'simple')),
      send,
    );
  }

  private onParse(message: FrontendMessage): void | Promise<void> {
    const parse = readParse(message);
    const t0 = process.hrtime.bigint();
    const decided = then(this.check(parse.sql), (outcome) => checkUses(this.uses, outcome, 'extended'));
    // Pooled, the name upstream is not the client's: PostgreSQL's own duplicate check is pgveil's to make.
    const checked = this.ledger.connection
      ? then(decided, (outcome) =>
          then(this.pooled.duplicate(parse.name, outcome.policyVersion), (duplicate) => duplicate ?? outcome),
        )
      : decided;
    return then(checked, (outcome) => this.sendParse(parse, t0, outcome));
  }

  private sendParse(parse: ReturnType<typeof readParse>, t0: bigint, outcome: RewriteOutcome, hidden?: true): void {
    const pooled = this.ledger.connection ? this.pooled : undefined;
    this.noteEffects(outcome);
    const text = this.upstreamText(outcome);
    const upstreamName = pooled ? pooled.parseName(parse.name, outcome, text, parse.parameterTypes) : parse.name;
    const statement: Statement = {
      sql: parse.sql,
      outcome,
      parameterTypes: parse.parameterTypes,
      ...(pooled ? { upstreamName } : {}),
    };
    if (outcome.kind === 'refusal') {
      this.ledger.report(
        'extended',
        { statement, started: new Date(), t0, rows: 0 },
        { sqlstate: outcome.sqlstate, message: outcome.message },
      );
    }
    this.send(
      { kind: 'parse', name: parse.name, statement, ...(hidden ? { hidden } : {}) },
      write.parse(upstreamName, text, parse.parameterTypes),
    );
  }

  /**
   * A Bind runs a statement prepared earlier: if its decision changed since (policy, attributes,
   * grants, purpose, search_path), it is rewritten and prepared again upstream under the same
   * name before the Bind, and the client notices nothing; refused now, the Bind fails with the refusal.
   */
  private onBind(message: FrontendMessage): void | Promise<void> {
    const { portal, statement: name } = readBindNames(message);
    const forward = (): void => {
      if (!this.ledger.connection)
        return this.send({ kind: 'bind', portal, statementName: name, boundAt: Date.now() }, message.frame);
      const upstreamName = this.pooled.ensurePrepared(name);
      if (upstreamName === undefined) return this.refuseBind(portal, name, unknownStatement(name));
      this.send(
        { kind: 'bind', portal, statementName: name, boundAt: Date.now() },
        write.bindRenamed(message.frame, portal, upstreamName),
      );
    };
    const statement = this.ledger.statements.get(name);
    // A Parse still in flight was decided just now.
    const parsing = this.ledger.pending.some((p) => p.kind === 'parse' && p.name === name);
    if (!parsing && !statement && this.ledger.decided.prepared.has(name))
      return this.refuseBind(portal, name, sqlPreparedBind(name));
    if (parsing || !statement || statement.outcome.kind !== 'plan') return forward();
    const checked = freshness(this.context.gate, this.ledger.info, {
      sql: statement.sql,
      rewritten: statement.outcome.sql,
      stamp: statement.outcome.stamp,
    });
    return then(checked, (fresh) => {
      if (fresh.current) {
        if (fresh.outcome) this.ledger.statements.set(name, { ...statement, outcome: fresh.outcome });
      } else {
        // Pooled, the new text has a name of its own; the old one stays valid for what it says.
        if (name !== '' && !this.ledger.connection)
          this.send({ kind: 'close', target: 'statement', name, hidden: true }, write.close('S', name));
        const types = statement.parameterTypes ?? Buffer.from([0, 0]);
        this.sendParse(
          { name, sql: statement.sql, parameterTypes: types },
          process.hrtime.bigint(),
          fresh.outcome,
          true,
        );
      }
      forward();
    });
  }

  /**
   * A Bind that must fail: a Bind of a statement that cannot exist fails upstream where this one
   * stood, and its error, which carries the refusal token, is swapped for the refusal.
   */
  private refuseBind(portal: string, name: string, refused: Refusal): void {
    const statement = { sql: `Bind of "${name}"`, outcome: refused };
    this.ledger.report(
      'extended',
      { statement, started: new Date(), t0: process.hrtime.bigint(), rows: 0 },
      { sqlstate: refused.sqlstate, message: refused.message },
    );
    this.send(
      { kind: 'bind', portal, statementName: name, boundAt: Date.now(), refusal: refused },
      write.bind(portal, this.sentinelName()),
    );
  }

  /**
   * An Execute of a portal runs only while its decision holds. One bound a moment ago (Bind and
   * Execute in one batch, the usual case) was checked at its Bind; any later one is checked again,
   * however the client spaced its messages.
   */
  private onExecute(message: FrontendMessage): void | Promise<void> {
    const portalName = readExecutePortal(message);
    const execution = {
      kind: 'execute' as const,
      portalName,
      portal: undefined,
      resolved: false,
      statement: undefined,
      started: new Date(),
      t0: process.hrtime.bigint(),
      rows: 0,
    };
    const forward = (): void => this.send(execution, message.frame);
    // A Bind of this portal still in flight replaces it: that Bind was checked just now.
    const rebound = this.ledger.pending.some((p) => p.kind === 'bind' && p.portal === portalName);
    const portal = rebound ? undefined : this.ledger.portals.get(portalName);
    const statement = portal?.statement;
    if (!portal || Date.now() - portal.boundAt <= PORTAL_FRESH_MS || statement?.outcome.kind !== 'plan')
      return forward();
    const checked = freshness(this.context.gate, this.ledger.info, {
      sql: statement.sql,
      rewritten: statement.outcome.sql,
      stamp: statement.outcome.stamp,
    });
    return then(checked, (fresh) => {
      if (fresh.current) return forward();
      // An Execute of a portal that cannot exist fails upstream where this one stood; its error
      // carries the refusal token and is swapped for the refusal on the way back.
      this.send(
        { ...execution, refusal: staleRefusal(`portal "${portalName}"`, fresh.outcome) },
        write.execute(this.sentinelName(), 0),
      );
    });
  }

  /** The rewritten SQL, or for a refusal a statement that fails upstream where the refused one stood. */
  private upstreamText(outcome: RewriteOutcome): string {
    if (outcome.kind === 'plan') return outcome.sql;
    return `SELECT "${this.sentinelName()}"`;
  }

  /** A name no client statement or portal can have: its error carries the refusal token. */
  private sentinelName(): string {
    return `pgveil refused ${this.context.refusalToken}`;
  }
}
