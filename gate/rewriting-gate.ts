/**
 * The StatementGate the proxy calls for every SQL text: it pins one policy version and one catalog
 * snapshot for the statement, asks the rewriter (through its cache), and turns anything unexpected
 * into a Refusal, so the proxy only ever forwards SQL the rewriter returned. Synchronous whenever
 * the catalog is already loaded, which keeps the hot path free of promise hops.
 */
import type { StatementGate, SessionInfo } from '../proxy';
import type { PolicySnapshot, Principal } from '../policies';
import {
  decisionStamp,
  refusal,
  type CatalogSnapshot,
  type RewriteContext,
  type RewriteOutcome,
  type Refusal,
} from '../rewriter';
import { TokenBuckets } from './token-buckets';
import type { OutputPorts } from '../ports';

export interface RewritingGateOptions {
  /** The current policy version; read once per statement so a statement sees exactly one. */
  readonly policies: () => PolicySnapshot;
  /** The catalog snapshot of a data product (cached; a promise only while it loads). */
  readonly catalog: (dataProduct: string) => CatalogSnapshot | Promise<CatalogSnapshot>;
  readonly rewrite: (sql: string, context: RewriteContext) => RewriteOutcome;
  readonly helperSchema: string;
  /** The principal as of this statement (live attributes and grants), or why it cannot be known. */
  readonly principal?: (principal: Principal) => { ok: true; principal: Principal } | { ok: false; reason: string };
  /** Rows one statement may return: the principal's `maxRows` attribute, else this default. */
  readonly maxRowsPerStatement?: number;
  /** How long one statement may run: the principal's `statementTimeoutMs` attribute, else this default. */
  readonly statementTimeoutMs?: number;
  /** Statements per second per user (token bucket); refusals beyond it become security events. */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  /** Declared output ports: a database name that names one is planned by ports/ on its data product. */
  readonly ports?: OutputPorts;
}

export function createRewritingGate(options: RewritingGateOptions): StatementGate {
  const finishedPlans = new WeakMap<
    RewriteOutcome,
    { readonly decidedFor: Principal; readonly stamp: string; readonly finished: RewriteOutcome }
  >();
  const buckets = options.rateLimit
    ? new TokenBuckets(options.rateLimit.perSecond, options.rateLimit.burst)
    : undefined;
  const principalOf = (session: SessionInfo): { ok: true; principal: Principal } | { ok: false; reason: string } =>
    options.principal ? options.principal(session.principal) : { ok: true, principal: session.principal };
  // A port's session reads its data product's catalog and policies; its stamp names the port.
  const productOf = (session: SessionInfo): string =>
    options.ports?.find(session.dataProduct)?.product.name ?? session.dataProduct;
  const contextOf = (
    session: SessionInfo,
    principal: Principal,
    policies: PolicySnapshot,
    catalog: CatalogSnapshot,
    dataProduct = session.dataProduct,
  ): RewriteContext => ({
    principal,
    dataProduct,
    searchPath: session.searchPath,
    catalog,
    policies,
    helperSchema: options.helperSchema,
  });
  return {
    check(
      sql: string,
      session: SessionInfo,
      checkOptions?: { readonly recheck?: boolean },
    ): RewriteOutcome | Promise<RewriteOutcome> {
      const policies = options.policies();
      if (buckets && !checkOptions?.recheck && !buckets.take(session.principal.user)) {
        return refusal(
          '53400',
          `rate limit of ${options.rateLimit!.perSecond} statements per second exceeded for user "${session.principal.user}"`,
          ['rate_limit'],
          policies.version,
        );
      }
      const current = principalOf(session);
      if (!current.ok) {
        return refusal(
          '42501',
          `attributes of user "${session.principal.user}" are unavailable (${current.reason}): statement refused`,
          ['attributes_unavailable'],
          policies.version,
        );
      }
      const route = options.ports?.find(session.dataProduct);
      const internalError = (): Refusal =>
        refusal('XX000', 'internal rewrite error: statement refused', ['internal_error'], policies.version);
      const run = (catalog: CatalogSnapshot): RewriteOutcome | Promise<RewriteOutcome> => {
        const context = contextOf(session, current.principal, policies, catalog, route?.product.name);
        const finish = (outcome: RewriteOutcome): RewriteOutcome => {
          // The audit record names the principal as it decided, not as it logged in.
          const decidedFor = current.principal;
          if (outcome.kind !== 'plan') return { ...outcome, decidedFor };
          const stamp = decisionStamp({ ...context, dataProduct: session.dataProduct });
          // A plan served from the rewrite cache comes back as the same object: so does its finished
          // form, while the principal and the stamp are the same (the limits come from the principal).
          const memo = finishedPlans.get(outcome);
          if (memo?.decidedFor === decidedFor && memo.stamp === stamp) return memo.finished;
          const rowLimit = numericAttribute(decidedFor, 'maxRows') ?? options.maxRowsPerStatement;
          const timeLimitMs = numericAttribute(decidedFor, 'statementTimeoutMs') ?? options.statementTimeoutMs;
          const finished: RewriteOutcome = {
            ...outcome,
            decidedFor,
            stamp,
            ...(rowLimit !== undefined ? { rowLimit } : {}),
            ...(timeLimitMs !== undefined ? { timeLimitMs } : {}),
          };
          finishedPlans.set(outcome, { decidedFor, stamp, finished });
          return finished;
        };
        try {
          const outcome = route ? options.ports!.plan(sql, route, context) : options.rewrite(sql, context);
          return outcome instanceof Promise ? outcome.then(finish, internalError) : finish(outcome);
        } catch {
          // rewrite() is specified never to throw; if it does, refuse rather than guess.
          return internalError();
        }
      };
      const unavailable = (): Refusal =>
        refusal(
          '58000',
          `catalog of data product "${session.dataProduct}" is unavailable: statement refused`,
          ['catalog_unavailable'],
          policies.version,
        );
      try {
        const catalog = options.catalog(route?.product.name ?? session.dataProduct);
        return catalog instanceof Promise ? catalog.then(run, unavailable) : run(catalog);
      } catch {
        return unavailable();
      }
    },
    stamp(session: SessionInfo): string | undefined {
      const current = principalOf(session);
      if (!current.ok) return undefined;
      try {
        const catalog = options.catalog(productOf(session));
        if (catalog instanceof Promise) {
          catalog.catch(() => undefined);
          return undefined;
        }
        return decisionStamp(contextOf(session, current.principal, options.policies(), catalog));
      } catch {
        return undefined;
      }
    },
  };
}

/** A whole-number attribute such as `maxRows` or `statementTimeoutMs`, when the principal has one. */
function numericAttribute(principal: Principal, name: string): number | undefined {
  const attribute = principal.attributes[name];
  return typeof attribute === 'string' && /^\d+$/.test(attribute) ? Number(attribute) : undefined;
}
