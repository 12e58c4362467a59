/** rewriter/: PostgreSQL's grammar in, rewritten SQL or a refusal out. */
export { initRewriter } from './sql-parser';
export { rewrite } from './rewrite';
export { RewriteCache } from './rewrite-cache';
export { loadCatalog, createCatalogSnapshot } from './catalog-loader';
export { installHelperSchema } from './helper-schema';
export { explainRewrite } from './explain';
export type { RewriteContext, RewriteOutcome, RewritePlan, Refusal, SessionEffect } from './rewrite-types';
export type { CatalogSnapshot, CatalogRelation } from './catalog-types';
