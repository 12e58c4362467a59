/** The rewriter's interface: pure data in, pure data out. */
import type { Principal } from '../policies/principal';
import type { PolicySnapshot, DecisionReason } from '../policies/decision';
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

/** A change to session state the proxy applies once the statement succeeded upstream. */
export type SessionEffect =
  | { readonly kind: 'search_path'; readonly schemas: readonly string[] }
  | { readonly kind: 'purpose'; readonly purpose: string | undefined };

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
  /** The audit's normalized texts when already known (a literal template), saving a normalize. */
  readonly audit?: { readonly statement: string; readonly rewritten: string };
}

export interface Refusal {
  readonly kind: 'refusal';
  /** 42501 for a refused statement, 42601 for a syntax error, 0A000 for unsupported. */
  readonly sqlstate: string;
  /** Lowercase, names the rule, quotes the user's input. */
  readonly message: string;
  /** Machine-readable rule ids / reasons, for the audit record and the security event. */
  readonly reasons: readonly string[];
  readonly policyVersion: string;
}

export type RewriteOutcome = RewritePlan | Refusal;

/** Builds a Refusal; every layer that refuses (rewriter, gate, proxy) uses this one shape. */
export function refusal(sqlstate: string, message: string, reasons: readonly string[], policyVersion: string): Refusal {
  return { kind: 'refusal', sqlstate, message, reasons, policyVersion };
}
