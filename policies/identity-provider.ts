/**
 * IdentityProvider over the users of the current policy version (SCRAM verifiers, groups,
 * attributes), signed tokens (claims mapped to attributes) and Redis attributes and grants.
 * Attributes from Redis are read again for every statement (from a local copy), so a grant that
 * expires, or a revoke, takes effect mid-session.
 */
import type { IdentityProvider } from './identity';
import type { AttributeSource, AttributeValue, GrantInForce, Principal, PrincipalProvenance } from './principal';
import type { PolicyBundle } from './policy-loader';
import type { UserConfig } from './policy-model';
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
  const { bundle, tokens, redis } =
    typeof options === 'function' ? { bundle: options, tokens: undefined, redis: undefined } : options;
  const merged = new Map<string, { base: Principal; overlay: unknown; principal: Principal }>();
  // One rebuilt principal per session principal and policy version: the same object while nothing
  // changes, which the rewrite cache and the audit key on.
  const rebased = new WeakMap<
    Principal,
    { bundle: PolicyBundle; result: { ok: true; principal: Principal } | { ok: false; reason: string } }
  >();
  const rebase = (session: Principal): { ok: true; principal: Principal } | { ok: false; reason: string } => {
    const current = bundle();
    const cached = rebased.get(session);
    if (cached?.bundle === current) return cached.result;
    const found = current.users.get(session.user);
    const rebuilt = fromUsersFile(session.user, found, session.token);
    const result =
      !found && !session.token
        ? { ok: false as const, reason: `user "${session.user}" is no longer in the policy files` }
        : {
            ok: true as const,
            principal: session.purpose === undefined ? rebuilt : { ...rebuilt, purpose: session.purpose },
          };
    rebased.set(session, { bundle: current, result });
    return result;
  };
  return {
    scramVerifier: (user) => bundle().users.get(user)?.password,
    tokensEnabled: tokens !== undefined,
    verifyToken: async (user, token) =>
      tokens ? tokens.verify(user, token) : { ok: false, reason: 'signed tokens are not configured' },
    async resolvePrincipal(user, claims) {
      const found = bundle().users.get(user);
      if (!found && !claims) return { ok: false, reason: 'unknown user' };
      const fromClaims = claims && tokens ? claimsToAttributes(claims, tokens.claims) : {};
      const { groups: claimGroups, ...claimAttributes } = fromClaims;
      const tokenGroups = Array.isArray(claimGroups) ? claimGroups : claimGroups ? [claimGroups] : [];
      const principal = fromUsersFile(
        user,
        found,
        claims ? { attributes: claimAttributes, groups: tokenGroups } : undefined,
      );
      if (!redis) return { ok: true, principal };
      const live = await redis.load(user);
      if (!live.ok) return { ok: false, reason: live.reason };
      return { ok: true, principal };
    },
    current(session) {
      // The users file of the running policy version, not of the login: a reload that changes a
      // user's groups or attributes, or removes the user, reaches open sessions at their next statement.
      const rebuilt = rebase(session);
      if (!rebuilt.ok) return rebuilt;
      const principal = rebuilt.principal;
      if (!redis) return { ok: true, principal };
      const now = Date.now();
      const live = redis.current(principal.user, now);
      if (!live.ok) return live;
      const grants = redis.grantsInForce(principal.user, now);
      // Same inputs, same object: the rewrite cache keys principals by identity first, the audit
      // serializes each principal object once.
      const cached = merged.get(principal.user);
      const key = [live.attributes, grants];
      if (cached && cached.base === principal && sameAttributes(cached.overlay, key))
        return { ok: true, principal: cached.principal };
      const next: Principal = {
        ...principal,
        attributes: overlay(principal.attributes, live.attributes, live.granted),
        provenance: overlayProvenance(principal, live.attributes, grants),
      };
      merged.set(principal.user, { base: principal, overlay: key, principal: next });
      return { ok: true, principal: next };
    },
  };
}

/** A principal from the users file's entry and the login token's claims (which override the file). */
function fromUsersFile(user: string, found: UserConfig | undefined, token: Principal['token']): Principal {
  const tokenGroups = token?.groups ?? [];
  const tokenAttributes = token?.attributes ?? {};
  const provenance: PrincipalProvenance = {
    attributes: {
      ...sourced(Object.keys(found?.attributes ?? {}), 'users-file'),
      ...sourced(Object.keys(tokenAttributes), 'token'),
    },
    groups: { ...sourced(found?.groups ?? [], 'users-file'), ...sourced(tokenGroups, 'token') },
    grants: [],
  };
  return {
    user,
    groups: [...(found?.groups ?? []), ...tokenGroups],
    attributes: { ...(found?.attributes ?? {}), ...tokenAttributes },
    provenance,
    ...(token ? { token } : {}),
  };
}

/** Lasting Redis values replace the file's; granted values add to what the user has. */
function overlay(
  base: Principal['attributes'],
  lasting: Readonly<Record<string, string>>,
  granted: Readonly<Record<string, readonly string[]>>,
): Principal['attributes'] {
  const out: Record<string, AttributeValue> = { ...base, ...lasting };
  for (const [attribute, values] of Object.entries(granted)) {
    const existing = out[attribute];
    const list = existing === undefined ? [] : typeof existing === 'string' ? [existing] : [...existing];
    for (const v of values) if (!list.includes(v)) list.push(v);
    out[attribute] = list.length === 1 ? list[0]! : list;
  }
  return out;
}

function sourced(names: readonly string[], source: AttributeSource): Record<string, AttributeSource> {
  return Object.fromEntries(names.map((n) => [n, source]));
}

/** Lasting Redis values are Redis's; the grants in force are listed with their expiry. */
function overlayProvenance(
  base: Principal,
  lasting: Readonly<Record<string, string>>,
  grants: readonly GrantInForce[],
): PrincipalProvenance {
  const known = base.provenance ?? { attributes: {}, groups: {}, grants: [] };
  return {
    attributes: { ...known.attributes, ...sourced(Object.keys(lasting), 'redis') },
    groups: known.groups,
    grants,
  };
}

function sameAttributes(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
