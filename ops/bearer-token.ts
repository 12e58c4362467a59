/**
 * The admin token check. Both sides are hashed to a fixed length first, so timingSafeEqual compares
 * equal-sized buffers and the time taken says nothing about the token's length or its prefix.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Shorter tokens are refused at start: the admin port may be reachable by the whole pod network. */
const MIN_ADMIN_TOKEN_LENGTH = 16;

export function bearerTokenMatches(presented: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The token named by `admin.tokenEnv`, or why pgveil refuses to start with it. */
export function adminTokenFrom(env: NodeJS.ProcessEnv, tokenEnv: string | undefined): string | undefined {
  if (tokenEnv === undefined) return undefined;
  const token = env[tokenEnv];
  if (token === undefined || token === '')
    throw new Error(
      `admin.tokenEnv names "${tokenEnv}", which is not set: set it or remove admin.tokenEnv (admin actions are then disabled)`,
    );
  if (token.length < MIN_ADMIN_TOKEN_LENGTH)
    throw new Error(`the admin token in "${tokenEnv}" is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  return token;
}
