/** A session's clocks of its own: the deadline to finish startup and the idle-session timeout. */
export class SessionClocks {
  private startup: NodeJS.Timeout | undefined;
  private idle: NodeJS.Timeout | undefined;

  startupDeadline(ms: number, expired: () => void): void {
    this.startup = setTimeout(expired, ms);
  }

  started(): void {
    clearTimeout(this.startup);
    this.startup = undefined;
  }

  /** Starts the idle clock again (0: no timeout). */
  idleFrom(ms: number, expired: () => void): void {
    this.busy();
    if (ms > 0) this.idle = setTimeout(expired, ms);
  }

  busy(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
  }

  stop(): void {
    this.started();
    this.busy();
  }
}
