/**
 * IdentityProvider over the users of the current policy version: SCRAM verifiers, groups and
 * attributes. Signed tokens are not configured in this version, so cleartext passwords are never
 * asked for.
 */
import type { IdentityProvider } from './identity';
import type { PolicyBundle } from './policy-loader';

export function createIdentityProvider(bundle: () => PolicyBundle): IdentityProvider {
  return {
    scramVerifier: (user) => bundle().users.get(user)?.password,
    tokensEnabled: false,
    verifyToken: async () => ({ ok: false, reason: 'signed tokens are not configured' }),
    resolvePrincipal: async (user) => {
      const found = bundle().users.get(user);
      if (!found) return { ok: false, reason: 'unknown user' };
      return { ok: true, principal: { user, groups: found.groups ?? [], attributes: found.attributes ?? {} } };
    },
  };
}
