/** Where a data product lives and how pgveil's service account reaches it. */
export interface UpstreamTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password?: string;
  /** disable: plain TCP; require: TLS without verification; verify-full: TLS with CA and host name. */
  readonly ssl?: { readonly mode: 'disable' | 'require' | 'verify-full'; readonly ca?: string };
  readonly connectTimeoutMs?: number;
  /** Transaction pooling (proxy/pool/); without it each client session has a connection of its own. */
  readonly pool?: PoolSettings;
}

export interface PoolSettings {
  /** Upstream connections at most. */
  readonly size: number;
  /** How long a client waits for a connection before it is refused (53300). */
  readonly waitTimeoutMs: number;
}
