/**
 * IdentityProvider over the users of the current policy version (SCRAM verifiers, groups,
 * attributes), signed tokens (claims mapped to attributes) and Redis attributes and grants.
 * Attributes from Redis are read again for every statement (from a local copy), so a grant that
 * expires, or a revoke, takes effect mid-session.
 */
import type { IdentityProvider } from './identity';
import type { Principal } from './principal';
import type { PolicyBundle } from './policy-loader';
import type { RedisAttributeSource } from './redis-attributes';
import { claimsToAttributes, type TokenVerifier } from './token-verifier';

export interface IdentityOptions {
  readonly bundle: () => PolicyBundle;
  readonly tokens?: { readonly verify: TokenVerifier; readonly claims: Readonly<Record<string, string>> };
  readonly redis?: RedisAttributeSource;
}

export interface Identity extends IdentityProvider {
  /** The principal as of now: login-time attributes overlaid with current Redis attributes and grants. */
  current(principal: Principal): { ok: true; principal: Principal } | { ok: false; reason: string };
}

export function createIdentityProvider(options: IdentityOptions | (() => PolicyBundle)): Identity {
  const { bundle, tokens, redis } = typeof options === 'function' ? { bundle: options, tokens: undefined, redis: undefined } : options;
  const merged = new Map<string, { base: Principal; overlay: unknown; principal: Principal }>();
  return {
    scramVerifier: (user) => bundle().users.get(user)?.password,
    tokensEnabled: tokens !== undefined,
    verifyToken: async (user, token) => (tokens ? tokens.verify(user, token) : { ok: false, reason: 'signed tokens are not configured' }),
    async resolvePrincipal(user, claims) {
      const found = bundle().users.get(user);
      if (!found && !claims) return { ok: false, reason: 'unknown user' };
      const fromClaims = claims && tokens ? claimsToAttributes(claims, tokens.claims) : {};
      const { groups: claimGroups, ...claimAttributes } = fromClaims;
      const groups = [...(found?.groups ?? []), ...(Array.isArray(claimGroups) ? claimGroups : claimGroups ? [claimGroups] : [])];
      const principal: Principal = { user, groups, attributes: { ...(found?.attributes ?? {}), ...claimAttributes } };
      if (!redis) return { ok: true, principal };
      const live = await redis.load(user);
      if (!live.ok) return { ok: false, reason: live.reason };
      return { ok: true, principal };
    },
    current(principal) {
      if (!redis) return { ok: true, principal };
      const live = redis.current(principal.user);
      if (!live.ok) return live;
      // Same inputs, same object: the rewrite cache keys principals by identity first.
      const cached = merged.get(principal.user);
      if (cached && cached.base === principal && sameAttributes(cached.overlay, live.attributes)) return { ok: true, principal: cached.principal };
      const next: Principal = { ...principal, attributes: { ...principal.attributes, ...live.attributes } };
      merged.set(principal.user, { base: principal, overlay: live.attributes, principal: next });
      return { ok: true, principal: next };
    },
  };
}

function sameAttributes(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
