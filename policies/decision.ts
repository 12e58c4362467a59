/**
 * The contract between policies/ and rewriter/: decide() answers per relation with data, never SQL
 * text. Literals are plain JS values; the rewriter turns them into AST constants.
 */
import type { Principal } from './principal';

export type Literal = string | number | boolean | null;

/** What happens to one column's values. Every variant keeps the column present in the derived table. */
export type ColumnAction =
  | { readonly kind: 'allow' }
  /** Keep the first/last N characters, replace the rest with `maskChar`. */
  | { readonly kind: 'mask'; readonly keepFirst: number; readonly keepLast: number; readonly maskChar: string }
  /** `alice@example.com` -> `a****@example.com`. */
  | { readonly kind: 'mask_email' }
  /** regexp_replace(value, pattern, replacement, flags). */
  | { readonly kind: 'regex'; readonly pattern: string; readonly replacement: string; readonly flags: string }
  /** Keyed deterministic hash computed upstream by pgveil's helper schema (joinable, key never in SQL). */
  | { readonly kind: 'hash' }
  | { readonly kind: 'null' }
  | { readonly kind: 'constant'; readonly value: Literal }
  /** Round a number to `digits` decimal places (negative: tens, hundreds...). */
  | { readonly kind: 'round'; readonly digits: number }
  /** date_trunc(unit, value), type preserved. */
  | { readonly kind: 'truncate_date'; readonly unit: 'year' | 'quarter' | 'month' | 'week' | 'day' | 'hour' }
  /** Any statement that references the column is refused. */
  | { readonly kind: 'deny' };

/**
 * A row predicate over the relation's own columns. `sql` is a trusted template written by a policy
 * author (never by the analyst) in which `$1..$n` are bound to `params` as AST literals.
 */
export type RowPredicate =
  | { readonly op: 'eq'; readonly column: string; readonly value: Literal }
  | { readonly op: 'in'; readonly column: string; readonly values: readonly Literal[] }
  | { readonly op: 'and' | 'or'; readonly args: readonly RowPredicate[] }
  | { readonly op: 'not'; readonly arg: RowPredicate }
  | { readonly op: 'template'; readonly sql: string; readonly params: readonly (Literal | readonly Literal[])[] };

export type RowAction =
  { readonly kind: 'all' } | { readonly kind: 'none' } | { readonly kind: 'filter'; readonly predicate: RowPredicate };

export interface ColumnDecision {
  readonly action: ColumnAction;
  /** Ids of the rules that decided this column (empty when nothing applied). */
  readonly rules: readonly string[];
}

export interface RelationDecision {
  /** `deny`: the principal may not read this relation at all (not subscribed, or a deny rule). */
  readonly access: 'allow' | 'deny';
  /** Keyed by column name as in the catalog; a column absent here is allowed. */
  readonly columns: Readonly<Record<string, ColumnDecision>>;
  readonly rows: RowAction;
  readonly rowRules: readonly string[];
}

export interface DecisionReason {
  readonly ruleId: string;
  readonly scope: 'global' | 'domain' | 'subscription' | 'default';
  /** Column name, or undefined for relation- or row-level reasons. */
  readonly column?: string;
  readonly effect: string;
}

/** decide() never throws: a non-empty `errors` means the rewriter must refuse (fail closed). */
export interface DecisionResult {
  readonly decision: RelationDecision;
  readonly reasons: readonly DecisionReason[];
  readonly errors: readonly string[];
}

export interface RelationColumnRef {
  readonly name: string;
  /** format_type() of the column, e.g. `text`, `character varying(64)`, `date`. */
  readonly type: string;
  /** The column comment from the upstream catalog; tags may be declared there. */
  readonly comment?: string;
}

/** What policies know of a relation: never SQL, only names, types and comments. */
export interface RelationRef {
  readonly dataProduct: string;
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly RelationColumnRef[];
}

/** decide() with its principal and purpose given: see PolicySnapshot.decisionsFor. */
export type RelationDecider = (relation: RelationRef) => DecisionResult;

/** One immutable policy version. A statement uses exactly one. */
export interface PolicySnapshot {
  readonly version: string;
  /**
   * Changes when the passage of time alone can change a decision (rules with an `hours`
   * condition): decisions are cached and kept by prepared statements under this and the version.
   */
  epoch?(): string;
  decide(principal: Principal, relation: RelationRef, purpose: string | undefined): DecisionResult;
  /**
   * decide() for one principal and purpose, answering each relation once: what it returns gives
   * decide()'s answer for every relation, and remembers it for a relation described by a frozen
   * RelationRef (columns frozen too) until the passage of time could change it (epoch). Undefined
   * when this snapshot's decide() is not the one it would remember (a wrapper replaced it).
   */
  decisionsFor?(principal: Principal, purpose: string | undefined): RelationDecider | undefined;
  /** Subscriptions: may this principal query this data product at all? */
  subscription(
    principal: Principal,
    dataProduct: string,
  ): { readonly allowed: boolean; readonly reasons: readonly DecisionReason[] };
  /**
   * `dataProducts[].allowedFunctions` of this data product: the functions outside the system schemas
   * analysts may call. Absent (a snapshot that does not implement it) means none.
   */
  allowedFunctions?(dataProduct: string): readonly string[];
}
