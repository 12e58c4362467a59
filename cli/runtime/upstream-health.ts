/**
 * What pgveil knows about each data product's upstream: reachable, unreachable (why, since when) or
 * not checked yet. Kept up to date by a background probe and by the outcome of real connections
 * (catalog loads), and following policy reloads: products added are probed at once, products
 * removed are forgotten. /readyz reads this state; nothing here runs per readiness probe.
 *
 * Each change to unreachable is one warning on the main log naming the data product, host and port
 * (never the credentials); each recovery is one info line. A failure that repeats is not logged again.
 */
import { serviceAccountClient } from './upstream-target-of';
import type { Logger } from 'pino';
import type { UpstreamTarget } from '../../proxy';

export type UpstreamState =
  | { readonly status: 'unknown'; readonly since: Date }
  | { readonly status: 'reachable'; readonly since: Date }
  | { readonly status: 'unreachable'; readonly since: Date; readonly reason: string };

export interface UpstreamReport {
  readonly dataProduct: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly state: UpstreamState;
}

/** Connects as the service account and runs one statement; throws why it could not. */
export type UpstreamProbe = (target: UpstreamTarget) => Promise<void>;

/** Who and where, not how: a password change alone is not a new upstream. */
interface Address {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** A data product's upstream as the policies declare it; target() may throw (e.g. a missing password file). */
export interface DeclaredUpstream extends Address {
  target(): UpstreamTarget;
}

interface Watched {
  readonly upstream: DeclaredUpstream;
  state: UpstreamState;
  probing?: Promise<void>;
}

export class UpstreamHealth {
  private readonly watched = new Map<string, Watched>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly options: {
      readonly log: Logger;
      readonly probe: UpstreamProbe;
      readonly intervalMs: number;
      /** An upstream unreachable until now answers again (what could not be checked can be now). */
      readonly onBack?: (dataProduct: string) => void;
    },
  ) {}

  /**
   * Follows the data products of the running policy version: forgets those removed, and probes
   * those added or whose upstream moved. Resolves when those probes have finished.
   */
  async track(upstreams: ReadonlyMap<string, DeclaredUpstream>): Promise<void> {
    for (const name of [...this.watched.keys()]) if (!upstreams.has(name)) this.watched.delete(name);
    const fresh: string[] = [];
    for (const [name, upstream] of upstreams) {
      const known = this.watched.get(name);
      if (known && sameAddress(known.upstream, upstream)) continue;
      this.watched.set(name, { upstream, state: { status: 'unknown', since: new Date() } });
      fresh.push(name);
    }
    await Promise.all(fresh.map((name) => this.probe(name)));
  }

  /** Probes every upstream now (the background timer calls this). */
  async probeAll(): Promise<void> {
    await Promise.all([...this.watched.keys()].map((name) => this.probe(name)));
  }

  start(): void {
    this.timer ??= setInterval(() => void this.probeAll(), this.options.intervalMs).unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A real connection to this upstream succeeded (or failed): the same news as a probe. */
  connected(dataProduct: string, target: UpstreamTarget): void {
    const watched = this.watched.get(dataProduct);
    if (watched && sameAddress(watched.upstream, target))
      this.set(dataProduct, watched, { status: 'reachable', since: new Date() });
  }

  failed(dataProduct: string, target: UpstreamTarget, error: unknown): void {
    const watched = this.watched.get(dataProduct);
    if (watched && sameAddress(watched.upstream, target))
      this.set(dataProduct, watched, { status: 'unreachable', since: new Date(), reason: describe(error) });
  }

  state(dataProduct: string): UpstreamState | undefined {
    return this.watched.get(dataProduct)?.state;
  }

  reports(): UpstreamReport[] {
    return [...this.watched].map(([dataProduct, { upstream, state }]) => ({
      dataProduct,
      host: upstream.host,
      port: upstream.port,
      database: upstream.database,
      state,
    }));
  }

  private probe(name: string): Promise<void> {
    const watched = this.watched.get(name);
    if (!watched) return Promise.resolve();
    watched.probing ??= (async () => {
      try {
        await this.options.probe(watched.upstream.target());
        this.set(name, watched, { status: 'reachable', since: new Date() });
      } catch (error) {
        this.set(name, watched, { status: 'unreachable', since: new Date(), reason: describe(error) });
      } finally {
        watched.probing = undefined;
      }
    })();
    return watched.probing;
  }

  private set(name: string, watched: Watched, next: UpstreamState): void {
    // A reload may have replaced or removed this product while the check ran: its news is stale.
    if (this.watched.get(name) !== watched) return;
    const previous = watched.state;
    if (previous.status === next.status) return;
    watched.state = next;
    const { host, port, database } = watched.upstream;
    const where = { dataProduct: name, host, port, database };
    if (next.status === 'unreachable') {
      this.options.log.warn(
        { ...where, reason: next.reason },
        `upstream of data product "${name}" at ${host}:${port} is unreachable: its statements fail until it is back`,
      );
    } else if (previous.status === 'unreachable') {
      this.options.log.info(
        { ...where, downSince: previous.since.toISOString() },
        `upstream of data product "${name}" at ${host}:${port} is reachable again`,
      );
      this.options.onBack?.(name);
    } else {
      this.options.log.debug(where, `upstream of data product "${name}" is reachable`);
    }
  }
}

/** The probe pgveil uses: the service account's own connection settings, one `SELECT 1`, bounded in time. */
export function serviceAccountProbe(timeoutMs: number): UpstreamProbe {
  return async (target) => {
    const client = serviceAccountClient(target, 'pgveil probe', timeoutMs, timeoutMs);
    try {
      await client.connect();
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => undefined);
    }
  };
}

function sameAddress(a: Address, b: Address): boolean {
  return a.host === b.host && a.port === b.port && a.database === b.database && a.user === b.user;
}

/** A connection error in one line: node's AggregateError (every address refused) has no message of its own. */
function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0)
    return [...new Set(error.errors.map(describe))].join('; ');
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}
