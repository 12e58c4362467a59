/** policies/: policy files, tags, decide(), users. Never sees SQL text beyond authored filter templates. */
export { loadPolicyFiles, upstreamPassword, type PolicyBundle } from './policy-loader';
export { PolicyStore } from './policy-store';
export { createIdentityProvider, type Identity } from './identity-provider';
export { RedisAttributeSource } from './redis-attributes';
export { createTokenVerifier, type TokenConfig } from './token-verifier';
export { createPolicySnapshot } from './decision-engine';
export { ValidationError } from './yaml-validation';
export type {
  PolicySnapshot,
  RelationDecision,
  RelationDecider,
  DecisionResult,
  ColumnAction,
  RowAction,
} from './decision';
export type { Principal } from './principal';
export { accessMatrix, formatAccessMatrix, type AccessMatrix } from './access-matrix';
export type { DecisionReason, Literal, RowPredicate, ColumnDecision, RelationRef } from './decision';
export { isMoreRestrictive } from './decision-engine';
export type { IdentityProvider } from './identity';
export { fileTags, lintPolicies } from './policy-lint';
export { readPolicySources, buildPolicyBundle, policyVersionOf } from './policy-loader';
export type { CustomClassifierConfig, PolicyFile, DataProductConfig, PolicyRule } from './policy-model';
export { announceTo, followAnnouncements } from './policy-reload-channel';
export { runPolicyTests, type PolicyTestFile } from './policy-tests';
export type { TagTaxonomy } from './tag-taxonomy';
export { columnTags, tagMatches, commentTags } from './tags';
export { compileSchema, parseValidatedYaml } from './yaml-validation';
export { decimalMicros } from './policy-decimals';
