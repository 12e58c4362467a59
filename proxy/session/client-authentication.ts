/**
 * Authenticates an analyst without revealing whether the user exists: the first authentication
 * request depends only on the configuration and the connection, never on the user name.
 *
 * - Signed tokens not configured, or the connection is not TLS: SCRAM-SHA-256 for everyone. An
 *   unknown user runs the same exchange against a decoy verifier (same iteration count, a salt
 *   stable per name) and fails at the proof, like a wrong password.
 * - Signed tokens configured and the connection is TLS: a password for everyone
 *   (AuthenticationCleartextPassword — the only request over which psql, JDBC, node-postgres and
 *   the other libpq-style clients send a token, since a SCRAM proof cannot carry one). A
 *   JWT-shaped password is verified as a token (for any user name: a token names its user); any
 *   other password, or a token that fails, is checked against the user's SCRAM verifier, or a
 *   decoy's for an unknown user, at the same cost. Password users therefore send their password
 *   inside TLS instead of a SCRAM proof while tokens are enabled.
 */
import type { IdentityProvider } from '../../policies';
import * as write from '../protocol/message-writer';
import { CStringReader, readPassword, type FrontendMessage } from '../protocol/frontend-decoder';
import {
  decoyVerifier,
  parseScramVerifier,
  passwordMatchesVerifier,
  ScramError,
  ScramServerExchange,
  type ScramVerifier,
} from '../auth/scram';

export type AuthStep =
  | { readonly kind: 'continue'; readonly reply: Buffer }
  | { readonly kind: 'failed'; readonly reason: string }
  | {
      readonly kind: 'ok';
      readonly final: Buffer | undefined;
      readonly claims: Readonly<Record<string, unknown>> | undefined;
    };

/** A JWS in compact serialization: three base64url parts. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export class ClientAuthentication {
  private readonly method: 'scram' | 'password';
  private readonly verifier: ScramVerifier;
  private readonly userKnown: boolean;
  private scram: ScramServerExchange | undefined;
  private stage = 0;

  constructor(
    private readonly identity: IdentityProvider,
    private readonly user: string,
    overTls: boolean,
    decoySecret: Buffer,
  ) {
    const stored = identity.scramVerifier(user);
    const verifier = stored === undefined ? undefined : parseScramVerifier(stored);
    this.userKnown = verifier !== undefined;
    this.verifier = verifier ?? decoyVerifier(user, decoySecret);
    // Chosen without looking at the user: tokens only ever travel inside TLS.
    this.method = identity.tokensEnabled && overTls ? 'password' : 'scram';
    if (this.method === 'scram') this.scram = new ScramServerExchange(this.verifier);
  }

  begin(): Buffer {
    return this.method === 'password' ? write.authenticationCleartext() : write.authenticationSasl(['SCRAM-SHA-256']);
  }

  async step(message: FrontendMessage): Promise<AuthStep> {
    const payload = readPassword(message);
    if (this.method === 'password') return this.password(payload.toString('utf8', 0, Math.max(0, payload.length - 1)));
    try {
      if (this.stage === 0) {
        this.stage = 1;
        const r = new CStringReader(payload, 0);
        const mechanism = r.cstring();
        if (mechanism !== 'SCRAM-SHA-256')
          return { kind: 'failed', reason: `unsupported SASL mechanism "${mechanism}"` };
        const length = r.int32();
        const data = r.bytes(length).toString('utf8');
        return { kind: 'continue', reply: write.authenticationSaslContinue(this.scram!.clientFirst(data)) };
      }
      const final = this.scram!.clientFinal(payload.toString('utf8'));
      if (final === undefined || !this.userKnown)
        return { kind: 'failed', reason: this.userKnown ? 'wrong password' : 'unknown user' };
      return { kind: 'ok', final: write.authenticationSaslFinal(final), claims: undefined };
    } catch (error) {
      return {
        kind: 'failed',
        reason: error instanceof ScramError ? error.message : 'malformed authentication message',
      };
    }
  }

  private async password(text: string): Promise<AuthStep> {
    const token = JWT_SHAPE.test(text) ? await this.identity.verifyToken(this.user, text) : undefined;
    if (token?.ok) return { kind: 'ok', final: undefined, claims: token.claims };
    // Known or not, one PBKDF2 at the same iteration count: the answer and its time say nothing more.
    const matches = await passwordMatchesVerifier(this.verifier, text);
    if (matches && this.userKnown) return { kind: 'ok', final: undefined, claims: undefined };
    if (token && !token.ok) return { kind: 'failed', reason: `token rejected: ${token.reason}` };
    return { kind: 'failed', reason: this.userKnown ? 'wrong password' : 'unknown user' };
  }
}
