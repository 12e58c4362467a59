/**
 * Authenticates an analyst: SCRAM-SHA-256 against the stored verifier, or — over TLS only, when
 * signed tokens are configured and the user has no verifier — a cleartext password that must be a
 * valid token. An unknown user runs the same SCRAM exchange against a decoy verifier, so the answer
 * (and its timing) does not reveal whether the user exists.
 */
import type { IdentityProvider } from '../../policies/identity';
import * as write from '../protocol/message-writer';
import { CStringReader, readPassword, type FrontendMessage } from '../protocol/frontend-decoder';
import { decoyVerifier, parseScramVerifier, ScramError, ScramServerExchange } from '../auth/scram';

export type AuthStep =
  | { readonly kind: 'continue'; readonly reply: Buffer }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'ok'; readonly final: Buffer | undefined; readonly claims: Readonly<Record<string, unknown>> | undefined };

export class ClientAuthentication {
  private readonly method: 'scram' | 'token';
  private scram: ScramServerExchange | undefined;
  private readonly userKnown: boolean;
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
    this.method = !verifier && identity.tokensEnabled && overTls ? 'token' : 'scram';
    if (this.method === 'scram') this.scram = new ScramServerExchange(verifier ?? decoyVerifier(user, decoySecret));
  }

  begin(): Buffer {
    return this.method === 'token' ? write.authenticationCleartext() : write.authenticationSasl(['SCRAM-SHA-256']);
  }

  async step(message: FrontendMessage): Promise<AuthStep> {
    const payload = readPassword(message);
    if (this.method === 'token') {
      const token = payload.toString('utf8', 0, Math.max(0, payload.length - 1));
      const verdict = await this.identity.verifyToken(this.user, token);
      return verdict.ok ? { kind: 'ok', final: undefined, claims: verdict.claims } : { kind: 'failed', reason: `token rejected: ${verdict.reason}` };
    }
    try {
      if (this.stage === 0) {
        this.stage = 1;
        const r = new CStringReader(payload, 0);
        const mechanism = r.cstring();
        if (mechanism !== 'SCRAM-SHA-256') return { kind: 'failed', reason: `unsupported SASL mechanism "${mechanism}"` };
        const length = r.int32();
        const data = r.bytes(length).toString('utf8');
        return { kind: 'continue', reply: write.authenticationSaslContinue(this.scram!.clientFirst(data)) };
      }
      const final = this.scram!.clientFinal(payload.toString('utf8'));
      if (final === undefined || !this.userKnown) return { kind: 'failed', reason: this.userKnown ? 'wrong password' : 'unknown user' };
      return { kind: 'ok', final: write.authenticationSaslFinal(final), claims: undefined };
    } catch (error) {
      return { kind: 'failed', reason: error instanceof ScramError ? error.message : 'malformed authentication message' };
    }
  }
}
