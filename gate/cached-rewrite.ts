/** The rewriter behind its cache, timed and counted in the metrics: what the gate calls per statement. */
import { rewrite, type RewriteCache, type RewriteContext, type RewriteOutcome } from '../rewriter';
import type { PgveilMetrics } from '../ops';

export function cachedRewrite(
  cache: RewriteCache,
  metrics: PgveilMetrics,
): (sql: string, context: RewriteContext) => RewriteOutcome {
  return (sql, context) => {
    const started = process.hrtime.bigint();
    const misses = cache.misses;
    const outcome = cache.get(sql, context, (text) => rewrite(text, context));
    metrics.rewriteSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    metrics.rewriteCache.inc(1, cache.misses > misses ? 'miss' : 'hit');
    return outcome;
  };
}
