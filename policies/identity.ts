/**
 * What the proxy asks after the startup message: how to authenticate a user, and who they are once
 * authenticated. Implemented from the users file, signed tokens and Redis attributes.
 */
import type { Principal } from './principal';

export type TokenVerdict =
  | { readonly ok: true; readonly claims: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly reason: string };

type PrincipalResult =
  { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly reason: string };

export interface IdentityProvider {
  /** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` or undefined for an unknown user. */
  scramVerifier(user: string): string | undefined;
  /** True when signed tokens are configured; the proxy then asks for a cleartext password over TLS only. */
  readonly tokensEnabled: boolean;
  verifyToken(user: string, token: string): Promise<TokenVerdict>;
  /** Attributes from the users file, token claims (if any) and Redis. */
  resolvePrincipal(user: string, claims: Readonly<Record<string, unknown>> | undefined): Promise<PrincipalResult>;
}
