/**
 * The principal's time limit on the statement at the head of the queue, counted from when it
 * reached the head. Past it pgveil cancels it upstream (and answers 57014); when other statements
 * are queued behind it, a cancel could hit one of them instead, so the session ends.
 */
import { PgError } from '../pg-error';
import type { StatementPipeline } from './statement-pipeline';
import type { Running } from './pipeline-ledger';

export interface TimeLimitActions {
  limitExceeded(message: string): void;
  cancelRunning(): void;
  fail(error: PgError): void;
}

export class StatementTimeLimit {
  private timer: NodeJS.Timeout | undefined;
  private timed: Running | undefined;

  constructor(private readonly actions: TimeLimitActions) {}

  /** Called whenever the queue may have moved. */
  watch(pipeline: StatementPipeline): void {
    const running = pipeline.nextStatement();
    if (running === this.timed) return;
    this.clear();
    this.timed = running;
    const limit = pipeline.timeLimitMs;
    if (!running || limit === undefined) return;
    this.timer = setTimeout(() => {
      if (this.timed !== running) return;
      const message = `statement ran longer than ${limit} ms, the limit for user "${pipeline.info.principal.user}"`;
      this.actions.limitExceeded(message);
      if (pipeline.statementsQueued() > 1)
        return this.actions.fail(new PgError('57014', `terminating connection: ${message}`, 'FATAL'));
      running.overTime = true;
      this.actions.cancelRunning();
    }, limit);
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
