/** The policy files' model, as validated by policy-schema.json. */
import type { ColumnAction, Literal } from './decision';
import type { OutputPortConfig } from '../ports';

export type Condition =
  | { readonly user: string }
  | { readonly group: string }
  | { readonly purpose: string }
  | {
      readonly attribute: string;
      readonly equals?: string;
      readonly in?: readonly string[];
      readonly contains?: string;
      readonly exists?: boolean;
    }
  | { readonly hours: { readonly from: number; readonly to: number } }
  | { readonly all: readonly Condition[] }
  | { readonly any: readonly Condition[] }
  | { readonly not: Condition };

/** `user.region` in a filter means the principal's attribute; anything else is a literal. */
export type FilterValue = Literal | { readonly user: string };

export type RowRule =
  | { readonly deny: true }
  | { readonly column: string; readonly equals: FilterValue }
  | { readonly column: string; readonly in: FilterValue | readonly Literal[] }
  | { readonly sql: string; readonly params: readonly FilterValue[] };

interface ColumnRule {
  /** Hierarchical tags: `pii` matches `pii.email`. */
  readonly tags?: readonly string[];
  /** `schema.table.column` or `table.column`. */
  readonly columns?: readonly string[];
  readonly action: ColumnAction;
}

export interface PolicyRule {
  readonly id: string;
  readonly description?: string;
  /** The rule applies only when this holds for the principal. */
  readonly when?: Condition;
  /** Exemption: the rule does not apply when this holds. */
  readonly unless?: Condition;
  /** Restricts the rule to these data products (global rules) ... */
  readonly dataProducts?: readonly string[];
  /** ... and to these tables (`schema.table` or `table`). */
  readonly tables?: readonly string[];
  readonly columns?: readonly ColumnRule[];
  readonly rows?: RowRule;
}

interface DomainPolicyRule extends PolicyRule {
  readonly domain: string;
}

interface UpstreamConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password?: string;
  readonly passwordEnv?: string;
  readonly passwordFile?: string;
  readonly ssl?: { readonly mode: 'disable' | 'require' | 'verify-full'; readonly ca?: string };
  /** Connection pooling: session (the default) or transaction, with its size and wait limit. */
  readonly pool?: {
    readonly mode: 'session' | 'transaction';
    readonly size?: number;
    readonly waitTimeoutMs?: number;
  };
}

export interface DataProductConfig {
  readonly name: string;
  readonly domain: string;
  readonly upstream: UpstreamConfig;
  /**
   * Functions outside the system schemas that analysts may call: `schema.name` (every overload) or
   * `schema.name(argtype, ...)`. Any other function runs with the service account's rights and
   * pgveil cannot see its body, so it is refused.
   */
  readonly allowedFunctions?: readonly string[];
  /** Extra tags by `schema.table` -> column -> tags, beside those in column comments. */
  readonly tables?: Readonly<Record<string, { readonly columns: Readonly<Record<string, readonly string[]>> }>>;
  /** Output ports (ports/): without any, one implicit internal port named after the data product. */
  readonly ports?: readonly OutputPortConfig[];
}

export interface UserConfig {
  readonly name: string;
  /** SCRAM-SHA-256 verifier (`pgveil user add` makes one). */
  readonly password?: string;
  readonly groups?: readonly string[];
  readonly attributes?: Readonly<Record<string, string | readonly string[]>>;
}

export interface SubscriptionConfig {
  readonly dataProduct: string;
  readonly groups?: readonly string[];
  readonly users?: readonly string[];
  readonly when?: Condition;
}

/** A classifier of the organisation's own for `pgveil discover` (discovery/custom-classifiers.ts). */
export interface CustomClassifierConfig {
  readonly id: string;
  readonly tag: string;
  readonly description?: string;
  readonly pattern?: string;
  readonly dictionary?: readonly string[];
  readonly columnName?: string;
  readonly minShare?: number;
}

export interface PolicyFile {
  readonly dataProducts?: readonly DataProductConfig[];
  /** The tag taxonomy (declared across all files). */
  readonly tags?: readonly string[];
  /** A policy set with no rules loads only when a file says so. */
  readonly unrestricted?: true;
  readonly globalPolicies?: readonly PolicyRule[];
  readonly domainPolicies?: readonly DomainPolicyRule[];
  readonly users?: readonly UserConfig[];
  readonly subscriptions?: readonly SubscriptionConfig[];
  readonly discovery?: { readonly classifiers?: readonly CustomClassifierConfig[] };
}
