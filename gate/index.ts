/**
 * gate/: the StatementGate the proxy calls for every SQL text. Per statement it pins one policy
 * version and one catalog snapshot, applies the rate limit, asks the rewriter through its cache,
 * attaches the principal's row and time limits, and turns anything unexpected into a refusal.
 * `pgveil serve` and `pgveil explain` build it the same way (cli/runtime/statement-gate-of.ts).
 */
export { createRewritingGate, type RewritingGateOptions } from './rewriting-gate';
export { cachedRewrite } from './cached-rewrite';
