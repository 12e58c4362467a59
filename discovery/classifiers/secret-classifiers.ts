/**
 * Credentials: API keys (the prefixes vendors put on them, then entropy), JWTs and password hashes
 * (the crypt-style and framework formats). A hex digest alone is not a secret: files and rows are
 * hashed everywhere, so a column of them needs a name saying it holds passwords or tokens.
 */
import validator from 'validator';
import { NONE, SHAPE, VALID, nameWords, type Classifier } from '../classifier';

/**
 * Vendor prefix families: AWS, Stripe, GitHub, GitLab, Slack, Google, SendGrid, OpenAI-style, npm,
 * Shopify, PyPI, private keys.
 */
const KEY_PREFIXES: readonly RegExp[] = [
  /^(AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}$/,
  /^(sk|pk|rk)_(live|test)_[0-9A-Za-z]{16,}$/,
  /^(ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{36}$/,
  /^github_pat_[0-9A-Za-z_]{60,}$/,
  /^glpat-[0-9A-Za-z_-]{20}$/,
  /^xox[abprs]-[0-9A-Za-z-]{10,}$/,
  /^AIza[0-9A-Za-z_-]{35}$/,
  /^SG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43}$/,
  /^sk-(proj-)?[0-9A-Za-z_-]{20,}$/,
  /^npm_[0-9A-Za-z]{36}$/,
  /^shp(at|ss|ca|pa)_[0-9a-fA-F]{32}$/,
  /^pypi-[0-9A-Za-z_-]{50,}$/,
  /^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/,
];

/** Shannon entropy in bits per character. */
function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

const TOKEN_CHARS = /^[A-Za-z0-9_\-+/=.]{20,256}$/;
const SECRET_HINT =
  'api_?key|apikey|secret|secret_key|token|access_token|refresh_token|auth_token|access_key|private_key|credential|credentials|client_secret|bearer';

export const apiKey: Classifier = {
  id: 'api_key',
  tag: 'secret.api_key',
  description: 'API keys and secrets: vendor prefix families, then long mixed-case high-entropy tokens',
  nameHint: nameWords(SECRET_HINT),
  nameVeto: nameWords('checksum|digest|sha1|sha256|md5|etag|hash|fingerprint|commit'),
  specificity: 40,
  grade(v) {
    if (KEY_PREFIXES.some((p) => p.test(v))) return VALID;
    if (!TOKEN_CHARS.test(v)) return NONE;
    const mixed = /[a-z]/.test(v) && /[A-Z]/.test(v) && /\d/.test(v);
    // Hex (a digest) and single-case strings are not counted: only a name makes them a secret.
    if (!mixed) return /^[0-9a-f]+$/i.test(v) && v.length >= 32 ? SHAPE : NONE;
    if (/\s/.test(v) || /^[A-Za-z]+$/.test(v)) return NONE;
    return v.length >= 32 && entropy(v) >= 4.2 ? VALID : SHAPE;
  },
};

export const jwt: Classifier = {
  id: 'jwt',
  tag: 'secret.token',
  description: 'JSON Web Tokens (three base64url parts whose header is JSON naming an alg)',
  nameHint: nameWords(`jwt|id_token|${SECRET_HINT}`),
  specificity: 90,
  grade(v) {
    if (!v.startsWith('eyJ') || !validator.isJWT(v)) return NONE;
    try {
      const header = JSON.parse(Buffer.from(v.split('.')[0]!, 'base64url').toString('utf8')) as { alg?: unknown };
      return typeof header.alg === 'string' ? VALID : SHAPE;
    } catch {
      return SHAPE;
    }
  },
};

const HASH_FORMATS: readonly RegExp[] = [
  /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/, // bcrypt
  /^\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/,
  /^\$(1|5|6)\$(rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{22,86}$/, // md5-crypt, sha-crypt
  /^\$y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{43}$/, // yescrypt
  /^\$(scrypt|7)\$/,
  /^(pbkdf2_sha(1|256)|bcrypt_sha256|argon2)\$/, // Django
  /^\{(SSHA|SHA|SSHA256|SSHA512|CRYPT)\}[A-Za-z0-9+/=$.]+$/, // LDAP
  /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/, // PostgreSQL
];

export const passwordHash: Classifier = {
  id: 'password_hash',
  tag: 'secret.password_hash',
  description:
    'password hashes (bcrypt, argon2, scrypt, sha-crypt, yescrypt, PBKDF2, LDAP, SCRAM); bare hex digests only under a password name',
  nameHint: nameWords(
    'password|passwd|pwd|pass|password_hash|pw_hash|passhash|hashed_password|password_digest|encrypted_password',
  ),
  specificity: 85,
  grade(v) {
    if (HASH_FORMATS.some((f) => f.test(v))) return VALID;
    return /^[0-9a-f]{32}$|^[0-9a-f]{40}$|^[0-9a-f]{64}$|^[0-9a-f]{128}$/i.test(v) ? SHAPE : NONE;
  },
};
