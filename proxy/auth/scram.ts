/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: the server side for analysts (verifiers
 * from the users file), the client side for the upstream service account, and verifier creation.
 * No channel binding is offered, so clients use the `n,,` header.
 */
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();
const xor = (a: Buffer, b: Buffer): Buffer => Buffer.from(a.map((byte, i) => byte ^ b[i]!));

export interface ScramVerifier {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** Passwords are used as given (UTF-8); PostgreSQL applies SASLprep, which is the identity on ASCII. */
function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256');
}

export function createScramVerifier(password: string, iterations = SCRAM_ITERATIONS): string {
  const salt = randomBytes(16);
  const salted = saltedPassword(password, salt, iterations);
  const storedKey = sha256(hmac(salted, 'Client Key'));
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export function parseScramVerifier(text: string): ScramVerifier | undefined {
  const match = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(text);
  if (!match) return undefined;
  const storedKey = Buffer.from(match[3]!, 'base64');
  const serverKey = Buffer.from(match[4]!, 'base64');
  if (storedKey.length !== 32 || serverKey.length !== 32) return undefined;
  return { iterations: Number(match[1]), salt: Buffer.from(match[2]!, 'base64'), storedKey, serverKey };
}

/**
 * Whether `password` is the one `verifier` was made from: the server-side check of a password sent
 * in clear text (over TLS), and provisioning's test of whether an upstream password is already set.
 * Costs one PBKDF2 at the verifier's iteration count, whether it matches or not, off the event loop.
 */
export async function passwordMatchesVerifier(verifier: ScramVerifier, password: string): Promise<boolean> {
  const salted = await pbkdf2Async(
    Buffer.from(password.normalize('NFKC'), 'utf8'),
    verifier.salt,
    verifier.iterations,
    32,
    'sha256',
  );
  return timingSafeEqual(sha256(hmac(salted, 'Client Key')), verifier.storedKey);
}

/**
 * The iteration count of verifiers `pgveil user verifier` makes (and PostgreSQL's default): a decoy
 * must announce the same count as a real user's verifier.
 */
const SCRAM_ITERATIONS = 4096;

/**
 * A verifier for a user that does not exist: its salt is derived from the name with a per-process
 * secret, so repeated attempts see a stable salt, and its keys match no password.
 */
export function decoyVerifier(user: string, secret: Buffer): ScramVerifier {
  return {
    iterations: SCRAM_ITERATIONS,
    salt: hmac(secret, `salt:${user}`).subarray(0, 16),
    storedKey: hmac(secret, `stored:${user}`),
    serverKey: hmac(secret, `server:${user}`),
  };
}

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

export class ScramError extends Error {
  override readonly name = 'ScramError';
}

/** One server-side exchange. `verifier` may be a decoy: the exchange then fails at the proof. */
export class ScramServerExchange {
  private clientFirstBare = '';
  private gs2Header = 'n,,';
  private serverFirst = '';
  private nonce = '';

  constructor(private readonly verifier: ScramVerifier) {}

  /** SASLInitialResponse data -> server-first-message. */
  clientFirst(message: string): string {
    // 'n': no channel binding; 'y': the client could bind but we did not offer it. 'p=' asks for it.
    if (!message.startsWith('n,') && !message.startsWith('y,')) {
      throw new ScramError(message.startsWith('p=') ? 'channel binding is not supported' : 'malformed SCRAM message');
    }
    const headerEnd = message.indexOf(',', 2);
    if (headerEnd < 0) throw new ScramError('malformed SCRAM message');
    this.gs2Header = message.slice(0, headerEnd + 1);
    this.clientFirstBare = message.slice(headerEnd + 1);
    const clientNonce = attributes(this.clientFirstBare).get('r');
    if (!clientNonce || !/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) throw new ScramError('malformed SCRAM message');
    this.nonce = clientNonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.verifier.salt.toString('base64')},i=${this.verifier.iterations}`;
    return this.serverFirst;
  }

  /** SASLResponse data -> server-final-message, or undefined when the proof is wrong. */
  clientFinal(message: string): string | undefined {
    const proofAt = message.lastIndexOf(',p=');
    if (proofAt < 0) throw new ScramError('malformed SCRAM message');
    const withoutProof = message.slice(0, proofAt);
    const attrs = attributes(message);
    if (attrs.get('c') !== Buffer.from(this.gs2Header).toString('base64') || attrs.get('r') !== this.nonce)
      throw new ScramError('malformed SCRAM message');
    const proof = Buffer.from(attrs.get('p') ?? '', 'base64');
    if (proof.length !== 32) throw new ScramError('malformed SCRAM message');
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientKey = xor(proof, hmac(this.verifier.storedKey, authMessage));
    if (!timingSafeEqual(sha256(clientKey), this.verifier.storedKey)) return undefined;
    return `v=${hmac(this.verifier.serverKey, authMessage).toString('base64')}`;
  }
}

/** Client side, for pgveil's own upstream connection. */
export class ScramClientExchange {
  private readonly clientNonce = randomBytes(18).toString('base64');
  private serverSignature: Buffer | undefined;

  constructor(private readonly password: string) {}

  clientFirst(): string {
    return `n,,n=,r=${this.clientNonce}`;
  }

  clientFinal(serverFirst: string): string {
    const attrs = attributes(serverFirst);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!nonce?.startsWith(this.clientNonce) || !salt || !Number.isInteger(iterations) || iterations < 1) {
      throw new ScramError('upstream sent an invalid SCRAM server-first message');
    }
    const salted = saltedPassword(this.password, Buffer.from(salt, 'base64'), iterations);
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `n=,r=${this.clientNonce},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
    this.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** The server proves it knows the verifier too. */
  verifyServerFinal(serverFinal: string): boolean {
    const v = Buffer.from(attributes(serverFinal).get('v') ?? '', 'base64');
    return (
      !!this.serverSignature && v.length === this.serverSignature.length && timingSafeEqual(v, this.serverSignature)
    );
  }
}
