/**
 * pgveil.yaml: how one pgveil process runs (listener, TLS, limits, where policies, audit and Redis
 * are). What is governed (data products, policies, users) lives in the policy files it names.
 * Relative paths are resolved against the directory of the configuration file.
 */
import type { TokenConfig } from '../../policies';
import type { AnomalyOptions } from '../../audit';

export interface ServerConfig {
  /** The file this configuration was read from (set by loadServerConfig; messages name it). */
  readonly file?: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly tls?: { readonly cert: string; readonly key: string };
  /** The admin port. POST actions need the bearer token read from `tokenEnv`; without one they are disabled. */
  readonly admin?: { readonly host: string; readonly port: number; readonly tokenEnv?: string };
  readonly limits: {
    readonly maxMessageBytes: number;
    readonly startupTimeoutMs: number;
    readonly idleTimeoutMs: number;
    readonly maxClientConnections: number;
    readonly statementsPerSecond?: number;
    readonly statementBurst: number;
    readonly maxRowsPerStatement?: number;
    readonly statementTimeoutMs?: number;
  };
  /** Policy files (YAML): data products, tags, global and domain policies, users. */
  readonly policies: readonly string[];
  readonly policyReload: { readonly settleMs: number; readonly checkSeconds: number };
  /** After loading, `url` carries the password read from `passwordEnv` (Redis AUTH), if one is named. */
  readonly redis?: {
    readonly url: string;
    readonly passwordEnv?: string;
    readonly keyPrefix: string;
    readonly refreshMs: number;
    readonly maxStaleMs: number;
  };
  readonly tokens?: TokenConfig;
  readonly authentication: { readonly decoySecretEnv?: string };
  readonly audit: {
    readonly file: string;
    /** Keys the hash chain (HMAC) when set. Read from this environment variable. */
    readonly secretEnv?: string;
    readonly rawStatements: boolean;
    /** Refuse statements when the audit log cannot be written. */
    readonly failClosed: boolean;
    readonly rotateBytes?: number;
    readonly rotateMaxAgeSeconds?: number;
    /** Seconds between two checkpoints of the chain's head (sent only when records were written). */
    readonly checkpointSeconds: number;
    /** Names this log in its checkpoints; `<host name>:<absolute file path>` by default. */
    readonly logName?: string;
  };
  readonly anomalies: AnomalyOptions;
  readonly events: { readonly sinks: readonly EventSinkConfig[] };
  /** Upstream schema with pgveil's SECURITY DEFINER helpers (keyed hash). */
  readonly helperSchema: string;
  readonly catalog: { readonly refreshSeconds: number };
  /** How often each data product's upstream is checked, and how long one check may take. */
  readonly upstreamProbe: { readonly intervalMs: number; readonly timeoutMs: number };
  /** Sensitive data discovery (docs/discovery.md). */
  readonly discovery: DiscoveryConfig;
  readonly log: { readonly level: 'debug' | 'info' | 'warn' | 'error' };
}

export type EventSinkConfig =
  | { readonly type: 'file'; readonly path: string }
  | { readonly type: 'stdout' }
  | { readonly type: 'redis-stream'; readonly key: string; readonly maxLen: number }
  | { readonly type: 'http'; readonly url: string; readonly attempts: number };

export interface DiscoveryConfig {
  readonly rows: number;
  readonly maxValueChars: number;
  readonly statementTimeoutMs: number;
  readonly budgetSeconds: number;
  readonly minConfidence: number;
  /** Discovery on catalog refresh: new or changed columns, bounded per refresh. */
  readonly continuous: {
    readonly enabled: boolean;
    readonly rows: number;
    readonly maxRelations: number;
    readonly budgetSeconds: number;
  };
}
