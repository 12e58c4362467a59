/**
 * Signed tokens (JWT) given as the password: verified with jose (HS256, RS256, ES256) against a key
 * file or a JWKS file; expiry and audience are enforced, issuer when configured. The token must be
 * for the user who connects (`sub`, or the configured user claim).
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, importSPKI, jwtVerify, type JWTVerifyGetKey, type KeyLike } from 'jose';
import type { TokenVerdict } from './identity';

export interface TokenConfig {
  readonly algorithms: ReadonlyArray<'HS256' | 'RS256' | 'ES256'>;
  /** HS256: a file holding the shared secret; RS256/ES256: a PEM public key. */
  readonly keyFile?: string;
  readonly jwksFile?: string;
  readonly audience: string;
  readonly issuer?: string;
  /** The claim that names the user (default `sub`). */
  readonly userClaim?: string;
  /** attribute name -> claim name, e.g. { region: "region", groups: "groups" }. */
  readonly claims: Readonly<Record<string, string>>;
}

export type TokenVerifier = (user: string, token: string) => Promise<TokenVerdict>;

export async function createTokenVerifier(config: TokenConfig): Promise<TokenVerifier> {
  let key: Uint8Array | KeyLike | JWTVerifyGetKey;
  if (config.jwksFile)
    key = createLocalJWKSet(
      JSON.parse(readFileSync(config.jwksFile, 'utf8')) as Parameters<typeof createLocalJWKSet>[0],
    );
  else if (config.keyFile && config.algorithms.includes('HS256')) key = new Uint8Array(readFileSync(config.keyFile));
  else if (config.keyFile) key = await importSPKI(readFileSync(config.keyFile, 'utf8'), config.algorithms[0]!);
  else throw new Error('tokens need a keyFile or a jwksFile');
  return async (user, token) => {
    try {
      const { payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms: [...config.algorithms],
        audience: config.audience,
        ...(config.issuer ? { issuer: config.issuer } : {}),
        requiredClaims: ['exp'],
      });
      const subject = payload[config.userClaim ?? 'sub'];
      if (subject !== user) return { ok: false, reason: 'token is for another user' };
      return { ok: true, claims: payload };
    } catch (error) {
      return { ok: false, reason: (error as Error).message.toLowerCase() };
    }
  };
}

/** Maps claims to attributes as configured; only strings and string lists become attributes. */
export function claimsToAttributes(
  claims: Readonly<Record<string, unknown>>,
  mapping: Readonly<Record<string, string>>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [attribute, claim] of Object.entries(mapping)) {
    const value = claims[claim];
    if (typeof value === 'string') out[attribute] = value;
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) out[attribute] = value;
  }
  return out;
}
