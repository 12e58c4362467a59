/** policies/: policy files, tags, decide(), users. Never sees SQL text beyond authored filter templates. */
export { loadPolicyFiles, upstreamPassword, type PolicyBundle } from './policy-loader';
export { PolicyStore } from './policy-store';
export { createIdentityProvider, type Identity } from './identity-provider';
export { RedisAttributeSource } from './redis-attributes';
export { createTokenVerifier, type TokenConfig } from './token-verifier';
export { createPolicySnapshot } from './decision-engine';
export { ValidationError } from './yaml-validation';
export type { PolicySnapshot, RelationDecision, DecisionResult, ColumnAction, RowAction } from './decision';
export type { Principal } from './principal';
