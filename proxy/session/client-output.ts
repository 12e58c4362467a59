/**
 * What goes to the client once the session is established. An answer reaches the client only once
 * the records of the statements finished so far are written: while records wait for their batch
 * (one write per turn of the event loop for every session), the client's bytes wait too, in order.
 */
import type { Socket } from 'node:net';
import type { StatementObserver } from '../statement-gate';

export class ClientOutput {
  private held: Buffer[] | undefined;

  constructor(
    /** The client's socket now (it changes once, when TLS starts). */
    private readonly client: () => Socket,
    /** The upstream socket to pause while the client has not taken what it was sent. */
    private readonly upstream: () => Socket | undefined,
    private readonly observer: StatementObserver,
    private readonly open: () => boolean,
  ) {}

  send(data: Buffer): void {
    if (this.held) {
      this.held.push(data);
      return;
    }
    if (!this.observer.recordsPending?.()) return this.write(data);
    this.held = [data];
    this.observer.whenRecorded!(() => {
      const held = this.take();
      if (held && this.open()) this.write(held);
    });
  }

  /** The session is failing: what is held goes now, once its records are written now. */
  flushHeld(): void {
    if (!this.held) return;
    // Written records let the release waiting for them go: it sends what is held.
    this.observer.flushRecords?.();
    const rest = this.take();
    if (rest) this.client().write(rest);
  }

  private take(): Buffer | undefined {
    const held = this.held;
    this.held = undefined;
    return held && (held.length === 1 ? held[0]! : Buffer.concat(held));
  }

  private write(data: Buffer): void {
    const client = this.client();
    const upstream = this.upstream();
    if (!client.write(data) && upstream) {
      // Backpressure: stop reading upstream until the client has taken what it was sent.
      upstream.pause();
      client.once('drain', () => upstream.resume());
    }
  }
}
