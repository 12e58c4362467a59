/**
 * Upstream's answers, matched to the requests they answer: the books follow what upstream
 * confirms, a refusal's sentinel error becomes the refusal, errors point into the analyst's own
 * text, rows are counted against the principal's limit, and what only pgveil asked (a hidden
 * re-prepare) never reaches the client. Only the frames in INSPECTED come here; the relay passes
 * every other frame through untouched.
 */
import { BackendCode } from '../protocol/message-codes';
import * as write from '../protocol/message-writer';
import { decodeFields, PgError } from '../pg-error';
import type { PipelineLedger, Pending, StatementError } from './pipeline-ledger';
import { errorAtOriginalPosition, refusalResponse } from './error-position';
import type { ResultTransform } from '../../rewriter';

export interface AnswerContext {
  readonly refusalToken: string;
  /** The analyst's user name: what the client sees as session_authorization. */
  readonly user: string;
  /** The time limit the running statement was cancelled for. */
  timeLimitMs(): number | undefined;
  /** Cancel the statement running upstream (row limit reached). */
  cancelUpstream(): void;
  /** A frame pgveil itself must send upstream at once. */
  toUpstream(frame: Buffer): void;
}

/** Frames the answers side decodes; everything else passes through untouched. */
export const INSPECTED: ReadonlySet<number> = new Set([
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

export class UpstreamAnswers {
  constructor(
    private readonly ledger: PipelineLedger,
    private readonly context: AnswerContext,
  ) {}

  /** A DataRow arrived: true to relay it, false when it is past the principal's row limit. */
  dataRow(): boolean {
    // pgveil's own Query (a pooled session's settings): its rows are not the client's.
    if (this.ledger.pending[0]?.kind === 'hidden-query') return false;
    const head = this.ledger.running();
    if (!head) return true;
    const limit = head.statement?.outcome.kind === 'plan' ? head.statement.outcome.rowLimit : undefined;
    // A portal's rows count across all its Executes: max-rows fetching is one statement.
    const portal = head.kind === 'execute' ? head.portal : undefined;
    if (limit === undefined || (portal ?? head).rows < limit) {
      head.rows++;
      if (portal) portal.rows++;
      return true;
    }
    if (!head.overLimit) {
      head.overLimit = true;
      // Rows past the limit are dropped either way; the query is cancelled only when no other
      // statement is queued behind it, which a cancel could hit instead.
      if (this.ledger.statementsQueued() === 1) this.context.cancelUpstream();
    }
    return false;
  }

  /** The running statement's result transform: an external port's answer gets its noise there. */
  rowTransform(): ResultTransform | undefined {
    const outcome = this.ledger.running()?.statement?.outcome;
    return outcome?.kind === 'plan' ? outcome.resultTransform : undefined;
  }

  /** Returns what the client gets instead of the frame (undefined: nothing). */
  frame(code: number, frame: Buffer): Buffer | undefined {
    const ledger = this.ledger;
    const head = ledger.pending[0];
    if (head?.kind === 'hidden-query') return this.hiddenQueryFrame(head, code, frame);
    const run = ledger.running();
    if (run?.overTime && code === BackendCode.ErrorResponse) {
      // Upstream answers the cancel pgveil sent when the statement ran past its time limit.
      run.overTime = false;
      const error = {
        sqlstate: '57014',
        message: `canceling statement: it ran longer than ${this.context.timeLimitMs() ?? 0} ms, the limit for user "${this.context.user}"`,
      };
      ledger.failHead(error);
      return errorResponse(error);
    }
    if (
      run?.overLimit &&
      (code === BackendCode.ErrorResponse ||
        code === BackendCode.CommandComplete ||
        code === BackendCode.PortalSuspended)
    ) {
      const limit = run.statement?.outcome.kind === 'plan' ? run.statement.outcome.rowLimit : 0;
      run.overLimit = false;
      const error = {
        sqlstate: '54000',
        message: `statement returned more than ${limit} rows, the limit for user "${this.context.user}"`,
      };
      // Upstream skips to the next Sync only when the query itself failed (cancelled in time).
      if (code === BackendCode.ErrorResponse) ledger.failHead(error);
      else if (run.kind === 'execute') ledger.finish(error);
      else run.error ??= error;
      return errorResponse(error);
    }
    switch (code) {
      case BackendCode.ErrorResponse:
        return this.error(head, frame);
      case BackendCode.ParseComplete:
        if (head?.kind !== 'parse') return frame;
        ledger.pending.shift();
        if (!head.ensure) ledger.statements.set(head.name, head.statement);
        ledger.prepared(head.statement);
        for (const tell of head.answered ?? []) tell(true);
        return head.hidden ? undefined : frame;
      case BackendCode.BindComplete:
        if (head?.kind === 'bind') {
          ledger.pending.shift();
          ledger.portals.set(head.portal, {
            statement: ledger.statements.get(head.statementName),
            rows: 0,
            boundAt: head.boundAt,
          });
        }
        return frame;
      case BackendCode.CloseComplete:
        if (head?.kind !== 'close') return frame;
        ledger.pending.shift();
        if (head.name !== undefined)
          (head.target === 'statement' ? ledger.statements : ledger.portals).delete(head.name);
        if (head.upstreamName !== undefined) ledger.closed(head.upstreamName);
        return head.hidden ? undefined : frame;
      case BackendCode.RowDescription:
      case BackendCode.NoData:
        if (head?.kind === 'describe') ledger.pending.shift();
        return frame;
      case BackendCode.CommandComplete:
        // Effects apply as upstream confirms each statement: a SET before a failing statement of
        // the same Query applied, then undone with its implicit transaction.
        if (head?.kind === 'simple' && head.statement.outcome.kind === 'plan')
          ledger.applyEffects(head.statement.outcome, head.completed++);
        else if (head?.kind === 'execute') ledger.finish(undefined, true);
        return frame;
      case BackendCode.EmptyQueryResponse:
      case BackendCode.PortalSuspended:
        if (head?.kind === 'execute') ledger.finish(undefined);
        return frame;
      case BackendCode.ReadyForQuery: {
        const hidden = head?.kind === 'sync' && head.hidden === true;
        ledger.settle(frame[5]!);
        return hidden ? undefined : frame;
      }
      case BackendCode.ParameterStatus: {
        const [name = '', value = ''] = frame.toString('utf8', 5, frame.length - 1).split('\0');
        return presentParameter(name, value, this.context.user);
      }
      case BackendCode.CopyInResponse:
      case BackendCode.CopyBothResponse:
        // The gate never lets COPY FROM through; if upstream asks for data anyway, end the copy.
        this.context.toUpstream(write.copyFail('copy from the client is not allowed through pgveil'));
        return undefined;
      case BackendCode.Authentication:
      case BackendCode.BackendKeyData:
      case BackendCode.NegotiateProtocolVersion:
        return undefined;
      default:
        return frame;
    }
  }

  private error(head: Pending | undefined, frame: Buffer): Buffer {
    const fields = decodeFields(frame);
    let error = { sqlstate: fields.get('C') ?? 'XX000', message: fields.get('M') ?? '' };
    let forClient: Buffer;
    if (error.message.includes(this.context.refusalToken)) {
      // The sentinel of a refused statement fails where the refused statement stood: at its
      // Parse, its Query, its Bind or its Execute, which is the head of the queue now.
      const outcome =
        head?.kind === 'parse' || head?.kind === 'simple'
          ? head.statement.outcome
          : head?.kind === 'execute' || head?.kind === 'bind' || head?.kind === 'describe'
            ? head.refusal
            : undefined;
      error =
        outcome?.kind === 'refusal'
          ? { sqlstate: outcome.sqlstate, message: outcome.message }
          : { sqlstate: '42501', message: 'statement refused' };
      forClient = refusalResponse(
        error.sqlstate,
        error.message,
        outcome?.kind === 'refusal' ? outcome.position : undefined,
      );
    } else {
      // A position into the rewritten text is moved to the analyst's text, or left out.
      const statement =
        head?.kind === 'parse' || head?.kind === 'simple' || head?.kind === 'execute' ? head.statement : undefined;
      forClient = errorAtOriginalPosition(
        frame,
        fields,
        statement?.sql,
        statement?.outcome.kind === 'plan' ? statement.outcome.sql : undefined,
      );
    }
    this.ledger.failHead(error);
    return forClient;
  }

  /** pgveil's own Query: nothing of its answer reaches the client; success records what it prepared. */
  private hiddenQueryFrame(head: Extract<Pending, { kind: 'hidden-query' }>, code: number, frame: Buffer): undefined {
    if (code === BackendCode.ErrorResponse) head.failed = true;
    if (code === BackendCode.ReadyForQuery) {
      this.ledger.pending.shift();
      this.ledger.transactionEnded(frame[5]!);
      if (!head.failed) head.onSuccess();
      else head.onFailure?.();
    }
    return undefined;
  }
}

/** The analyst sees their own name, never the service account's. */
export function presentParameter(name: string, value: string, user: string): Buffer {
  if (name === 'session_authorization') return write.parameterStatus(name, user);
  if (name === 'is_superuser') return write.parameterStatus(name, 'off');
  return write.parameterStatus(name, value);
}

function errorResponse(error: StatementError): Buffer {
  return new PgError(error.sqlstate, error.message).toErrorResponse();
}
