/**
 * The statement gate as configured: what `pgveil serve` puts in front of every statement and what
 * `pgveil explain` asks, built in one place so that explain shows exactly what the server does
 * (the same policy version, catalog snapshot, live attributes and grants, row and time limits).
 */
import { createRewritingGate, cachedRewrite } from '../../gate';
import type { StatementGate } from '../../proxy';
import type { RewriteCache } from '../../rewriter';
import type { PolicyBundle } from '../../policies';
import type { Identity } from '../../policies';
import type { PgveilMetrics } from '../../ops';
import type { ServerConfig } from '../config/server-config';
import type { CatalogCache } from './catalog-cache';
import type { OutputPorts } from '../../ports';

export interface GateParts {
  readonly policies: () => PolicyBundle;
  readonly identity: Identity;
  readonly catalogs: CatalogCache;
  readonly cache: RewriteCache;
  readonly metrics: PgveilMetrics;
  /** Declared output ports (ports/): their statements are planned there. */
  readonly ports?: OutputPorts;
}

export function statementGateOf(config: ServerConfig, parts: GateParts): StatementGate {
  return createRewritingGate({
    policies: () => parts.policies().snapshot,
    catalog: (dataProduct) => parts.catalogs.get(dataProduct),
    rewrite: cachedRewrite(parts.cache, parts.metrics),
    helperSchema: config.helperSchema,
    principal: (principal) => parts.identity.current(principal),
    ...(parts.ports ? { ports: parts.ports } : {}),
    ...(config.limits.maxRowsPerStatement ? { maxRowsPerStatement: config.limits.maxRowsPerStatement } : {}),
    ...(config.limits.statementTimeoutMs ? { statementTimeoutMs: config.limits.statementTimeoutMs } : {}),
    ...(config.limits.statementsPerSecond
      ? { rateLimit: { perSecond: config.limits.statementsPerSecond, burst: config.limits.statementBurst } }
      : {}),
  });
}
