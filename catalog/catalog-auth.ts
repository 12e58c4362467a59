/**
 * Who may read the catalog: whoever holds the admin token. A browser cannot be made to send a
 * bearer header, so the sign-in form exchanges the token for a session cookie (random, HttpOnly,
 * SameSite=Strict, Path=/catalog, Secure when the listener speaks TLS) that lives in this process
 * only. Tools may send the token as a bearer header on every request instead. Without a configured
 * admin token the catalog is closed.
 *
 * CSRF: pages are GET and change nothing. The two POSTs (sign in, sign out) carry a token in a
 * hidden field that must equal, for sign-in, a random cookie set with the form (double submit) and,
 * for sign-out, the session's own token; a cross-site Origin or Sec-Fetch-Site is refused first.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { bearerTokenMatches } from '../ops';

export const SESSION_COOKIE = 'pgveil_catalog';
export const LOGIN_CSRF_COOKIE = 'pgveil_catalog_login';

interface CatalogSession {
  readonly csrf: string;
  readonly created: number;
  seen: number;
}

export interface CatalogAuthOptions {
  /** The admin token; undefined closes the catalog. */
  readonly token: string | undefined;
  readonly idleMs?: number;
  readonly maxAgeMs?: number;
  readonly maxSessions?: number;
  /** Failed sign-ins per client before it must wait (`lockoutMs`). */
  readonly maxFailures?: number;
  readonly lockoutMs?: number;
  readonly now?: () => number;
}

export type Authentication =
  | { readonly ok: true; readonly csrf: string; readonly via: 'cookie' | 'bearer' }
  | { readonly ok: false; readonly reason: string };

export class CatalogAuth {
  private readonly sessions = new Map<string, CatalogSession>();
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly now: () => number;

  constructor(private readonly options: CatalogAuthOptions) {
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.token !== undefined;
  }

  /** The request's session (cookie) or bearer token, checked. */
  authenticate(req: IncomingMessage): Authentication {
    const token = this.options.token;
    if (token === undefined)
      return { ok: false, reason: 'the catalog is disabled: no admin token is configured (admin.tokenEnv)' };
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^bearer +(\S+)\s*$/i.exec(header);
      if (match && bearerTokenMatches(match[1]!, token)) return { ok: true, csrf: '', via: 'bearer' };
      return { ok: false, reason: 'invalid admin token' };
    }
    const id = cookies(req).get(SESSION_COOKIE);
    if (id === undefined) return { ok: false, reason: 'not signed in' };
    const session = this.sessions.get(id);
    const now = this.now();
    if (!session) return { ok: false, reason: 'unknown or expired session' };
    if (
      now - session.seen > (this.options.idleMs ?? 60 * 60 * 1000) ||
      now - session.created > (this.options.maxAgeMs ?? 12 * 60 * 60 * 1000)
    ) {
      this.sessions.delete(id);
      return { ok: false, reason: 'session expired' };
    }
    session.seen = now;
    return { ok: true, csrf: session.csrf, via: 'cookie' };
  }

  /** A cross-site form post, or one from a page that is not ours, is refused before anything else. */
  sameOrigin(req: IncomingMessage): boolean {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    const host = req.headers.host;
    const scheme = isTls(req) ? 'https' : 'http';
    return host !== undefined && origin === `${scheme}://${host}`;
  }

  /** A fresh random value for the sign-in form and its cookie. */
  loginCsrf(): string {
    return randomBytes(24).toString('base64url');
  }

  /**
   * Sign-in: the form's CSRF value must equal its cookie, the token must match. Returns the new
   * session's id, or why not. Failures are counted per client; too many lock the client out a while.
   */
  signIn(
    req: IncomingMessage,
    form: URLSearchParams,
    client: string,
  ): { readonly session: string } | { readonly status: number; readonly reason: string } {
    const token = this.options.token;
    if (token === undefined)
      return { status: 403, reason: 'the catalog is disabled: no admin token is configured (admin.tokenEnv)' };
    const now = this.now();
    const failed = this.failures.get(client);
    const lockoutMs = this.options.lockoutMs ?? 60_000;
    if (failed && now - failed.since > lockoutMs) this.failures.delete(client);
    else if (failed && failed.count >= (this.options.maxFailures ?? 10))
      return { status: 429, reason: 'too many failed sign-ins from this client: try again in a minute' };
    const cookie = cookies(req).get(LOGIN_CSRF_COOKIE);
    const presented = form.get('csrf');
    if (cookie === undefined || presented === null || !bearerTokenMatches(presented, cookie))
      return { status: 403, reason: 'the sign-in form has expired or did not come from this catalog: load it again' };
    const given = form.get('token') ?? '';
    if (!bearerTokenMatches(given, token)) {
      const entry = this.failures.get(client) ?? { count: 0, since: now };
      entry.count++;
      this.failures.set(client, entry);
      return { status: 401, reason: 'invalid admin token' };
    }
    this.failures.delete(client);
    this.expire(now);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { csrf: randomBytes(24).toString('base64url'), created: now, seen: now });
    return { session: id };
  }

  signOut(req: IncomingMessage, form: URLSearchParams): boolean {
    const id = cookies(req).get(SESSION_COOKIE);
    const session = id === undefined ? undefined : this.sessions.get(id);
    const presented = form.get('csrf');
    if (!session || presented === null || !bearerTokenMatches(presented, session.csrf)) return false;
    this.sessions.delete(id!);
    return true;
  }

  private expire(now: number): void {
    const idle = this.options.idleMs ?? 60 * 60 * 1000;
    const maxAge = this.options.maxAgeMs ?? 12 * 60 * 60 * 1000;
    for (const [id, s] of this.sessions) if (now - s.seen > idle || now - s.created > maxAge) this.sessions.delete(id);
    // Bounded: the oldest sessions go first.
    const max = this.options.maxSessions ?? 1000;
    while (this.sessions.size >= max) this.sessions.delete(this.sessions.keys().next().value as string);
  }
}

function isTls(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

/** A Set-Cookie value: HttpOnly, SameSite=Strict, scoped to the catalog, Secure over TLS. */
export function cookieHeader(req: IncomingMessage, name: string, value: string, maxAgeSeconds?: number): string {
  return [
    `${name}=${value}`,
    'Path=/catalog',
    'HttpOnly',
    'SameSite=Strict',
    ...(isTls(req) ? ['Secure'] : []),
    ...(maxAgeSeconds !== undefined ? [`Max-Age=${maxAgeSeconds}`] : []),
  ].join('; ');
}

function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}
