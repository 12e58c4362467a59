/** rewriter/: PostgreSQL's grammar in, rewritten SQL or a refusal out. */
export { initRewriter } from './sql-parser';
export { rewrite } from './rewrite';
export { RewriteCache, decisionStamp } from './rewrite-cache';
export { loadCatalog, createCatalogSnapshot } from './catalog-loader';
export { installHelperSchema } from './helper-schema';
export { explainRewrite } from './explain';
export {
  refusal,
  type RewriteContext,
  type RewriteOutcome,
  type RewritePlan,
  type Refusal,
  type SessionEffect,
} from './rewrite-types';
export type { CatalogSnapshot, CatalogRelation, CatalogColumn } from './catalog-types';
export { untaggedMatviewColumns, type UntaggedMatviewColumn, type ColumnTags } from './matview-sources';
export { bodyOf, isKind, isTreeObject, kindOf, stringOf, type PgNode } from './ast';
export { type SqlStep, planHelperSchema, runSteps, HELPER_FUNCTION } from './helper-schema';
export { originalPosition } from './position-map';
export { quoteIdent } from './quote-ident';
export type { ResultTransform, TrackedSettings, TransactionOp, RefusalRule } from './rewrite-types';
export { parseTree, deparseStatement } from './sql-parser';
export { isSafeClientEncoding, SETTABLE, SYSTEM_SCHEMAS } from './statement-guard';
