/** The rewriter's interface: pure data in, pure data out. */
import type { Principal } from '../policies';
import type { PolicySnapshot, DecisionReason } from '../policies';
import type { CatalogSnapshot } from './catalog-types';

export interface RewriteContext {
  readonly principal: Principal;
  /** Name of the data product (the client's database name). */
  readonly dataProduct: string;
  /** The session's search_path as tracked by the proxy, already split and unquoted. */
  readonly searchPath: readonly string[];
  readonly catalog: CatalogSnapshot;
  readonly policies: PolicySnapshot;
  /** Upstream schema holding pgveil's SECURITY DEFINER helpers (keyed hash). Analysts may not name it. */
  readonly helperSchema: string;
}

/** The session settings pgveil's decisions depend on, and so tracks. */
export interface TrackedSettings {
  readonly searchPath: readonly string[];
  readonly purpose: string | undefined;
}

type TrackedSetting = keyof TrackedSettings;

export type TransactionOp = 'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollback_to';

/**
 * A change to session state, applied by the proxy once upstream has confirmed the statement (its
 * CommandComplete): settings, transaction control (which decides whether settings survive),
 * and the prepared statements and cursors whose decision the proxy must keep current.
 * `statement` is the statement's index within the message (a simple Query may carry several).
 */
export type SessionEffect = { readonly statement: number } & (
  | { readonly kind: 'set'; readonly values: Partial<TrackedSettings>; readonly local: boolean }
  | { readonly kind: 'reset'; readonly settings: readonly TrackedSetting[]; readonly local: boolean }
  | { readonly kind: 'transaction'; readonly op: TransactionOp; readonly savepoint?: string; readonly chain?: boolean }
  | { readonly kind: 'prepare'; readonly name: string; readonly sql: string; readonly rewritten: string }
  | { readonly kind: 'deallocate'; readonly name: string | undefined }
  | {
      readonly kind: 'declare_cursor';
      readonly name: string;
      readonly hold: boolean;
      readonly sql: string;
      readonly rewritten: string;
    }
  | { readonly kind: 'close_cursor'; readonly name: string | undefined }
  | { readonly kind: 'discard_all' }
  /** A session-level advisory lock taken: it outlives the transaction. */
  | { readonly kind: 'session_lock' }
  // Not changes but uses, checked before the statement is sent: which SQL prepared statement it
  // executes, which cursor it reads.
  | { readonly kind: 'execute'; readonly name: string }
  | { readonly kind: 'fetch'; readonly name: string }
);

export interface RewritePlan {
  readonly kind: 'plan';
  /** Exactly what goes upstream. */
  readonly sql: string;
  /** Number of statements in `sql` (a simple Query may carry several). */
  readonly statementCount: number;
  /** True when at least one relation was substituted. */
  readonly rewritten: boolean;
  /** Qualified names of the protected relations that were substituted. */
  readonly relations: readonly string[];
  readonly reasons: readonly DecisionReason[];
  readonly effects: readonly SessionEffect[];
  readonly policyVersion: string;
  /** Set by the gate: the most rows one statement may return to this principal. */
  readonly rowLimit?: number;
  /** Set by the gate: how long one statement of this principal may run, in milliseconds. */
  readonly timeLimitMs?: number;
  /** Set by the gate: everything the decision depended on (decisionStamp), to tell later whether it still holds. */
  readonly stamp?: string;
  /** The audit's normalized texts when already known (a literal template), saving a normalize. */
  readonly audit?: { readonly statement: string; readonly rewritten: string };
  /** Set by the gate: the principal as it decided (live attributes and grants), for the audit record. */
  readonly decidedFor?: Principal;
  /** External output ports (ports/): the proxy passes every DataRow through it before the client sees it. */
  readonly resultTransform?: ResultTransform;
  /** External output ports: the privacy budget this answer spent, for the audit record and metrics. */
  readonly privacy?: PrivacySpend;
}

/**
 * Replaces a result's values on their way to the client: an external port adds its noise here. It
 * takes one DataRow frame as upstream sent it and returns the frame to relay instead.
 */
export interface ResultTransform {
  dataRow(frame: Buffer): Buffer;
}

interface PrivacySpend {
  readonly port: string;
  /** Epsilon this answer spent (0 when the answer was already released and is served again). */
  readonly epsilon: string;
  readonly delta: string;
  /** Epsilon left to the principal on this port in the current period. */
  readonly remaining: string;
  readonly cached: boolean;
}

/**
 * Every rule a statement can be refused under: the ids in a Refusal's reasons, the audit record's
 * `rules`, the security event's `reasons` and the refusals metric's `rule` label. Closed, so that a
 * misspelt id is a compile error rather than a new, unexplained label in the audit.
 */
export type RefusalRule =
  // The statement guard and the substitution (rewriter/, thrown as GuardRefusal).
  | 'ast_depth'
  | 'copy_from'
  | 'copy_to_file'
  | 'cross_database'
  | 'data_modification'
  | 'denied_column'
  | 'explain_analyze'
  | 'explain_protected'
  | 'function_not_allowed'
  | 'helper_schema'
  | 'hidden_catalog_column'
  | 'lock_mode'
  | 'not_subscribed'
  | 'policy_error'
  | 'qualified_column'
  | 'refused_catalog'
  | 'refused_function'
  | 'relation_denied'
  | 'row_locking'
  | 'search_path'
  | 'select_into'
  | 'sequence_of_protected'
  | 'setting'
  | 'statement_class'
  | 'two_phase_commit'
  | 'unknown_function'
  | 'unknown_relation'
  | 'view_columns'
  | 'view_depth'
  | 'view_over_protected'
  // rewrite(): the parser's and the printer's failures.
  | 'syntax_error'
  | 'internal_error'
  // The statement gate: rate limit, attribute store, catalog.
  | 'rate_limit'
  | 'attributes_unavailable'
  | 'catalog_unavailable'
  // The proxy session: audit down (fail closed), stale decisions, protocol Bind of a SQL PREPARE.
  | 'audit_unavailable'
  | 'stale_decision'
  | 'bind_sql_prepared'
  // Transaction pooling: names the client never prepared, and what a pooled session cannot do.
  | 'unknown_statement'
  | 'duplicate_statement'
  | 'pooling_unsupported'
  // External output ports (ports/): what an external port does not answer, and its privacy budget.
  | 'dp_one_statement'
  | 'dp_not_aggregate'
  | 'dp_relation_not_published'
  | 'dp_not_dimension'
  | 'dp_column_not_published'
  | 'dp_min_max'
  | 'dp_window'
  | 'dp_limit'
  | 'dp_where'
  | 'dp_too_many_groups'
  | 'dp_no_budget_store'
  | 'dp_budget_exhausted'
  | 'dp_budget_unavailable';

export interface Refusal {
  readonly kind: 'refusal';
  /** 42501 for a refused statement, 42601 for a syntax error, 0A000 for unsupported. */
  readonly sqlstate: string;
  /** Lowercase, names the rule, quotes the user's input. */
  readonly message: string;
  /** Machine-readable rule ids / reasons, for the audit record and the security event. */
  readonly reasons: readonly RefusalRule[];
  readonly policyVersion: string;
  /** Set by the gate, as on a RewritePlan. */
  readonly decidedFor?: Principal;
  /** Where in the analyst's text the problem is (1-based, characters): a syntax error's token. */
  readonly position?: number;
}

export type RewriteOutcome = RewritePlan | Refusal;

/** Builds a Refusal; every layer that refuses (rewriter, gate, proxy) uses this one shape. */
export function refusal(
  sqlstate: string,
  message: string,
  reasons: readonly RefusalRule[],
  policyVersion: string,
): Refusal {
  return { kind: 'refusal', sqlstate, message, reasons, policyVersion };
}
