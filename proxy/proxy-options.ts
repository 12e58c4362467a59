/** Everything a proxy server needs, handed over by the CLI: no global state in proxy/. */
import type { IdentityProvider } from '../policies';
import type { StatementGate, StatementObserver } from './statement-gate';
import type { UpstreamTarget } from './upstream/upstream-target';

export interface ProxyLimits {
  readonly maxMessageBytes: number;
  readonly startupTimeoutMs: number;
  /** 0 disables the idle timeout. */
  readonly idleTimeoutMs: number;
  readonly maxClientConnections: number;
  /** Every failed authentication answers after this delay, whether or not the user exists. */
  readonly authFailureDelayMs: number;
}

export interface ProxyLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ProxyOptions {
  readonly host: string;
  /** 0 picks an ephemeral port (tests). */
  readonly port: number;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  readonly limits: ProxyLimits;
  readonly identity: IdentityProvider;
  /** The upstream of a data product, by the database name the client asked for. */
  route(database: string): UpstreamTarget | undefined;
  readonly gate: StatementGate;
  readonly observer: StatementObserver;
  readonly logger: ProxyLogger;
  /**
   * Derives the SCRAM salts of decoys for unknown users. Replicas behind one address must share it:
   * with a random one per process, an unknown name's salt would change between replicas and
   * restarts while a real user's does not, which tells the two apart. Random when unset.
   */
  readonly decoySecret?: Buffer;
}

export const DEFAULT_LIMITS: ProxyLimits = {
  maxMessageBytes: 16 * 1024 * 1024,
  startupTimeoutMs: 10_000,
  idleTimeoutMs: 60 * 60 * 1000,
  maxClientConnections: 1000,
  authFailureDelayMs: 500,
};
