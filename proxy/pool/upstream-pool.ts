/**
 * A data product's pool of upstream connections in transaction mode: at most `size` connections
 * as the service account, lent to one client session at a time for a transaction (or a statement
 * outside one) and returned when upstream says it is idle. Clients wait in line when every
 * connection is lent, at most `waitTimeoutMs`. A connection that dies, idle or lent, leaves the
 * pool and is replaced on demand, so a server restart drains the pool and the next borrows refill it.
 *
 * Each connection remembers what pgveil left on it: the session-level settings it holds and the
 * prepared statements it has (by content name), so a borrower adds only what is missing.
 */
import { PgError } from '../pg-error';
import { openUpstream, type UpstreamSession } from '../upstream/upstream-connection';
import type { PoolSettings, UpstreamTarget } from '../upstream/upstream-target';
import type { SettingValues } from './pooled-settings';

export interface PooledConnection {
  readonly upstream: UpstreamSession;
  /** Settings set at session level on this connection by pgveil or its last borrower. */
  applied: SettingValues;
  /** Prepared statements it holds under pgveil's content names. */
  readonly prepared: Set<string>;
  /** The statement its unnamed prepared statement holds (identity), if pgveil still knows it. */
  unnamed: object | undefined;
  /** The pool it belongs to: a retired pool closes it on return. */
  readonly pool: UpstreamPool;
}

interface Waiter {
  resolve(connection: PooledConnection): void;
  reject(error: PgError): void;
  readonly timer: NodeJS.Timeout;
  readonly prefer: ((c: PooledConnection) => boolean) | undefined;
}

/** pgveil's own connections carry no client's settings: borrowers apply theirs. */
const POOL_STARTUP = new Map([['client_encoding', 'UTF8']]);

export class UpstreamPool {
  /** Idle connections, most recently returned last (it is the warmest). */
  private readonly idle: PooledConnection[] = [];
  private readonly waiters: Waiter[] = [];
  private open = 0;
  private opening = 0;
  private retired = false;

  constructor(
    readonly target: UpstreamTarget,
    readonly settings: PoolSettings,
    private readonly label: string,
  ) {}

  get stats(): { open: number; idle: number; waiting: number } {
    return { open: this.open, idle: this.idle.length, waiting: this.waiters.length };
  }

  /** A connection for one client; `prefer` picks among idle ones (same settings: nothing to apply). */
  borrow(prefer?: (c: PooledConnection) => boolean): Promise<PooledConnection> {
    if (this.retired) return Promise.reject(new PgError('08006', `pool of ${this.label} was replaced`, 'FATAL'));
    const idle = this.takeIdle(prefer);
    if (idle) return Promise.resolve(idle);
    if (this.open + this.opening < this.settings.size) return this.connect();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        prefer,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(
            new PgError(
              '53300',
              `every one of the ${this.settings.size} upstream connections of ${this.label} stayed busy for ${this.settings.waitTimeoutMs} ms: try again later`,
              'FATAL',
            ),
          );
        }, this.settings.waitTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** The client is done with it and it is idle upstream (ReadyForQuery 'I', nothing pending). */
  release(connection: PooledConnection): void {
    const socket = connection.upstream.socket;
    socket.removeAllListeners('data');
    if (socket.destroyed) return;
    if (this.retired) {
      this.discard(connection);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(connection);
      return;
    }
    // An idle connection says nothing unless it is dying (a FATAL from pg_terminate_backend, a shutdown).
    socket.once('data', () => this.discard(connection));
    this.idle.push(connection);
  }

  /** Its state is unknown (the client left mid-statement, or it failed): it leaves the pool. */
  discard(connection: PooledConnection): void {
    const socket = connection.upstream.socket;
    socket.removeAllListeners('data');
    if (!socket.destroyed) socket.destroy();
  }

  /** A reload changed the pool's settings: idle connections close now, lent ones when returned. */
  retire(): void {
    this.retired = true;
    for (const c of this.idle.splice(0)) this.discard(c);
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new PgError('08006', `pool of ${this.label} was replaced`, 'FATAL'));
    }
  }

  private takeIdle(prefer?: (c: PooledConnection) => boolean): PooledConnection | undefined {
    if (this.idle.length === 0) return undefined;
    let at = this.idle.length - 1;
    if (prefer) {
      for (let i = this.idle.length - 1; i >= 0; i--)
        if (prefer(this.idle[i]!)) {
          at = i;
          break;
        }
    }
    const taken = this.idle.splice(at, 1)[0];
    taken?.upstream.socket.removeAllListeners('data');
    return taken;
  }

  private async connect(): Promise<PooledConnection> {
    this.opening++;
    let upstream: UpstreamSession;
    try {
      upstream = await openUpstream(this.target, POOL_STARTUP);
    } finally {
      this.opening--;
    }
    if (upstream.leftover.length > 0) {
      // PostgreSQL says nothing after its first ReadyForQuery until asked: such a connection is not one to share.
      upstream.socket.destroy();
      throw new PgError('08P01', 'the data product upstream sent data before it was asked', 'FATAL');
    }
    this.open++;
    const connection: PooledConnection = {
      upstream,
      applied: new Map(),
      prepared: new Set(),
      unnamed: undefined,
      pool: this,
    };
    // Accounting for the whole life of the connection, lent or idle.
    upstream.socket.on('error', () => upstream.socket.destroy());
    upstream.socket.once('close', () => this.closed(connection));
    return connection;
  }

  private closed(connection: PooledConnection): void {
    this.open--;
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    // A waiter may now get a new connection in its place.
    const waiter = this.waiters[0];
    if (waiter && !this.retired && this.open + this.opening < this.settings.size) {
      this.waiters.shift();
      clearTimeout(waiter.timer);
      this.connect().then(
        (c) => waiter.resolve(c),
        (error: unknown) =>
          waiter.reject(error instanceof PgError ? error : new PgError('08001', 'upstream unavailable', 'FATAL')),
      );
    }
  }
}
