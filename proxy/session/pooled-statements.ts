/**
 * Transaction pooling, the requests side: a client's prepared statements as the connection lent
 * to it now knows them. Upstream names are content names (pooled-names.ts); a statement the
 * client prepared on another connection is prepared on this one before its Bind or Describe, and
 * SQL may name only what the client itself made with SQL PREPARE.
 */
import * as write from '../protocol/message-writer';
import { refusal, type Refusal, type RewriteOutcome, type RewritePlan } from '../../rewriter';
import type { Pending, PipelineLedger, Statement } from './pipeline-ledger';
import { contentName } from './pooled-names';
import { quoteIdent } from '../../rewriter';

export interface PooledRequestsHost {
  readonly ledger: PipelineLedger;
  send(pending: Pending, frame: Buffer): void;
  /** The rewritten SQL, or a refusal's sentinel statement. */
  upstreamText(outcome: RewriteOutcome): string;
  /** A name no client statement can have. */
  sentinelName(): string;
}

export class PooledStatements {
  constructor(private readonly host: PooledRequestsHost) {}

  /**
   * The refusal PostgreSQL would give a Parse of `name` the client already has. When the claim is a
   * Parse still unanswered (a pipeline: Parse, Sync, Parse), upstream's answer to it decides.
   */
  duplicate(name: string, policyVersion: string): Refusal | undefined | Promise<Refusal | undefined> {
    if (name === '') return undefined;
    const exists = refusal(
      '42P05',
      `prepared statement "${name}" already exists`,
      ['duplicate_statement'],
      policyVersion,
    );
    const pending = this.host.ledger.pending;
    for (let i = pending.length - 1; i >= 0; i--) {
      const p = pending[i]!;
      if (p.kind === 'close' && p.target === 'statement' && p.name === name) return undefined;
      if (p.kind === 'parse' && p.name === name && !p.ensure)
        return new Promise((resolve) => (p.answered ??= []).push((created) => resolve(created ? exists : undefined)));
    }
    return this.host.ledger.statements.has(name) ? exists : undefined;
  }

  /** The name a client's Parse prepares upstream, after closing another statement of that name there. */
  parseName(name: string, outcome: RewriteOutcome, text: string, parameterTypes: Buffer): string {
    if (outcome.kind === 'refusal') return this.host.sentinelName();
    if (name === '') return '';
    const upstreamName = contentName(text, parameterTypes);
    // Another client's statement of the same content may be there already.
    if (this.willHold(upstreamName))
      this.host.send(
        { kind: 'close', target: 'statement', name: undefined, upstreamName, hidden: true },
        write.close('S', upstreamName),
      );
    return upstreamName;
  }

  /** Whether the lent connection will hold `upstreamName` once the messages sent so far are answered. */
  private willHold(upstreamName: string): boolean {
    const pending = this.host.ledger.pending;
    for (let i = pending.length - 1; i >= 0; i--) {
      const p = pending[i]!;
      if (p.kind === 'parse' && p.statement.upstreamName === upstreamName) return true;
      if (p.kind === 'close' && p.upstreamName === upstreamName) return false;
    }
    return this.host.ledger.connection?.prepared.has(upstreamName) ?? false;
  }

  /** True when `name` is the client's SQL PREPARE statement. */
  sqlPrepared(name: string): boolean {
    return this.host.ledger.decided.prepared.has(name);
  }

  /** The client's statement `name` as it will be when the messages sent so far are answered. */
  latest(name: string): Statement | undefined {
    const pending = this.host.ledger.pending;
    for (let i = pending.length - 1; i >= 0; i--) {
      const p = pending[i]!;
      if (p.kind === 'parse' && p.name === name && !p.ensure) return p.statement;
      if (p.kind === 'close' && p.target === 'statement' && p.name === name) return undefined;
    }
    return this.host.ledger.statements.get(name);
  }

  /**
   * Transaction pooling: the upstream name of the client's statement on the connection lent now,
   * preparing it there first when it is not (it was prepared on another connection, or evicted).
   * Undefined: the client has no such statement.
   */
  ensurePrepared(name: string): string | undefined {
    const connection = this.host.ledger.connection!;
    const statement = this.latest(name);
    if (!statement || statement.upstreamName === undefined) return undefined;
    const upstreamName = statement.upstreamName;
    const inFlight = this.host.ledger.pending.some((p) => p.kind === 'parse' && p.statement === statement);
    const present = upstreamName === '' ? connection.unnamed === statement : this.willHold(upstreamName);
    if (!inFlight && !present)
      this.host.send(
        { kind: 'parse', name, statement, hidden: true, ensure: true },
        write.parse(
          upstreamName,
          this.host.upstreamText(statement.outcome),
          statement.parameterTypes ?? Buffer.from([0, 0]),
        ),
      );
    return upstreamName;
  }

  /** Transaction pooling: Describe of a statement names it as upstream knows it. */
  describe(name: string): void {
    const upstreamName = this.ensurePrepared(name);
    if (upstreamName !== undefined) return this.host.send({ kind: 'describe' }, write.describe('S', upstreamName));
    this.host.send(
      { kind: 'describe', refusal: unknownStatement(name) },
      write.describe('S', this.host.sentinelName()),
    );
  }

  /** Transaction pooling: Close closes the statement's upstream name; an unknown one closes nothing. */
  close(name: string): void {
    const upstreamName = this.latest(name)?.upstreamName;
    const sent = upstreamName ?? this.host.sentinelName();
    this.host.send(
      { kind: 'close', target: 'statement', name, ...(upstreamName !== undefined ? { upstreamName } : {}) },
      write.close('S', sent),
    );
  }

  /**
   * Transaction pooling: a connection holds other clients' statements under content names, so SQL
   * may name only what this client prepared with SQL PREPARE (its connection is pinned to it).
   */
  useRefusal(plan: RewritePlan): Refusal | undefined {
    // PREPARE p; EXECUTE p in one Query: the statement exists by the time EXECUTE runs.
    const preparedHere = new Set(plan.effects.flatMap((e) => (e.kind === 'prepare' ? [e.name] : [])));
    for (const use of plan.effects) {
      if ((use.kind !== 'execute' && use.kind !== 'deallocate') || use.name === undefined) continue;
      if (this.host.ledger.decided.prepared.has(use.name) || preparedHere.has(use.name)) continue;
      if (use.kind === 'execute' && this.host.ledger.statements.has(use.name))
        return refusal(
          '0A000',
          `EXECUTE of "${use.name}", prepared with the extended protocol, is not supported in transaction pooling: bind it instead`,
          ['pooling_unsupported'],
          plan.policyVersion,
        );
      if (use.kind === 'deallocate' && this.host.ledger.statements.has(use.name) && plan.statementCount === 1) continue;
      if (use.kind === 'deallocate' && this.host.ledger.statements.has(use.name))
        return refusal(
          '0A000',
          `DEALLOCATE of "${use.name}", prepared with the extended protocol, is supported in transaction pooling only as a statement of its own`,
          ['pooling_unsupported'],
          plan.policyVersion,
        );
      return unknownStatement(use.name, plan.policyVersion);
    }
    return undefined;
  }
}

/**
 * DEALLOCATE of a statement the client prepared with Parse (psycopg 3 does it): the same statement
 * upstream under its content name, prepared on this connection first if it is not there, so that
 * it succeeds as on PostgreSQL. Undefined when the plan is anything else.
 */
export function deallocateUpstream(statements: PooledStatements, plan: RewritePlan): RewritePlan | undefined {
  const [only] = plan.effects;
  if (plan.statementCount !== 1 || plan.effects.length !== 1 || only?.kind !== 'deallocate') return undefined;
  const name = only.name;
  if (name === undefined || statements.sqlPrepared(name) || !statements.latest(name)) return undefined;
  const upstreamName = statements.ensurePrepared(name);
  if (!upstreamName) return undefined;
  return { ...plan, sql: `DEALLOCATE ${quoteIdent(upstreamName)}` };
}

export function unknownStatement(name: string, policyVersion = ''): Refusal {
  return refusal('26000', `prepared statement "${name}" does not exist`, ['unknown_statement'], policyVersion);
}
