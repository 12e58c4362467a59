/**
 * The catalog's HTTP routes, mounted by the admin server under /catalog. Every page is a GET that
 * changes nothing and needs a signed-in session (or the admin token as a bearer header); the only
 * things served without one are the sign-in form and the stylesheet and script. Every answer
 * carries a Content-Security-Policy that allows this origin's stylesheet and script and nothing
 * else (no inline script or style, no other origin, no framing), and is not cached.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CATALOG_CSS, CATALOG_ICON, CATALOG_JS } from './assets';
import { CatalogAuth, cookieHeader, LOGIN_CSRF_COOKIE, SESSION_COOKIE } from './catalog-auth';
import type { CatalogSources } from './catalog-model';
import { loginPage, refusedPage } from './pages/login-page';
import { productsPage } from './pages/products-page';
import { productPage } from './pages/product-page';
import { eventsPage } from './pages/events-page';
import { principalPage, principalsPage } from './pages/principal-page';
import { policiesPage } from './pages/policies-page';
import { page } from './layout';
import { html } from './html';

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on our own form posts.
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

const ASSETS: Readonly<Record<string, { readonly type: string; readonly body: string; readonly etag: string }>> = {
  '/catalog/assets/catalog.css': { type: 'text/css; charset=utf-8', body: CATALOG_CSS, etag: etag(CATALOG_CSS) },
  '/catalog/assets/catalog.js': { type: 'text/javascript; charset=utf-8', body: CATALOG_JS, etag: etag(CATALOG_JS) },
  '/catalog/assets/icon.svg': { type: 'image/svg+xml', body: CATALOG_ICON, etag: etag(CATALOG_ICON) },
};

const MAX_FORM_BYTES = 4096;

export interface CatalogHandlerOptions {
  readonly sources: CatalogSources;
  /** The admin token; without one the catalog refuses every page. */
  readonly token: string | undefined;
  /** A refused sign-in or bearer token, for the log and a security event. */
  readonly onDenied?: (request: { readonly path: string; readonly client: string; readonly reason: string }) => void;
}

export type CatalogHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createCatalogHandler(options: CatalogHandlerOptions): CatalogHandler {
  const auth = new CatalogAuth({ token: options.token });
  const { sources } = options;
  return (req, res) => {
    void route(req, res).catch((error: Error) => {
      if (!res.headersSent)
        send(
          res,
          500,
          page({
            title: 'Error',
            body: html`<h1>The page could not be made</h1><p class="error">${error.message}</p>`,
          }),
        );
      else res.destroy();
    });
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://catalog.invalid');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const client = req.socket.remoteAddress ?? '';
    const asset = ASSETS[path];
    if (asset && req.method === 'GET') {
      const fresh = req.headers['if-none-match'] === asset.etag;
      res.writeHead(fresh ? 304 : 200, {
        ...SECURITY_HEADERS,
        'cache-control': 'no-cache',
        etag: asset.etag,
        'content-type': asset.type,
      });
      res.end(fresh ? undefined : asset.body);
      return;
    }
    if (path === '/catalog/login') {
      if (req.method === 'GET') {
        const csrf = auth.loginCsrf();
        return send(
          res,
          auth.enabled ? 200 : 403,
          loginPage(
            csrf,
            safeNext(url.searchParams.get('next')),
            auth.enabled ? undefined : 'The catalog is disabled: no admin token is configured (admin.tokenEnv).',
          ),
          {
            'set-cookie': cookieHeader(req, LOGIN_CSRF_COOKIE, csrf, 600),
          },
        );
      }
      if (req.method !== 'POST')
        return send(res, 405, 'method not allowed', { allow: 'GET, POST' }, 'text/plain; charset=utf-8');
      if (!auth.sameOrigin(req)) return deny(req, res, path, client, 403, 'cross-site sign-in refused');
      const form = await readForm(req);
      if (!form)
        return send(
          res,
          415,
          'a sign-in is an application/x-www-form-urlencoded form of at most 4 KB',
          {},
          'text/plain; charset=utf-8',
        );
      const result = auth.signIn(req, form, client);
      const next = safeNext(form.get('next'));
      if ('reason' in result) {
        options.onDenied?.({ path, client, reason: result.reason });
        const csrf = auth.loginCsrf();
        return send(res, result.status, loginPage(csrf, next, result.reason), {
          'set-cookie': cookieHeader(req, LOGIN_CSRF_COOKIE, csrf, 600),
        });
      }
      res.writeHead(303, {
        ...SECURITY_HEADERS,
        location: next,
        'set-cookie': [cookieHeader(req, SESSION_COOKIE, result.session), cookieHeader(req, LOGIN_CSRF_COOKIE, '', 0)],
      });
      res.end();
      return;
    }
    if (path === '/catalog/logout') {
      if (req.method !== 'POST')
        return send(res, 405, 'method not allowed', { allow: 'POST' }, 'text/plain; charset=utf-8');
      if (!auth.sameOrigin(req)) return deny(req, res, path, client, 403, 'cross-site sign-out refused');
      const form = await readForm(req);
      if (!form || !auth.signOut(req, form))
        return deny(req, res, path, client, 403, 'sign-out refused: no session or a wrong form token');
      res.writeHead(303, {
        ...SECURITY_HEADERS,
        location: '/catalog/login',
        'set-cookie': cookieHeader(req, SESSION_COOKIE, '', 0),
      });
      res.end();
      return;
    }
    const who = auth.authenticate(req);
    if (!who.ok) {
      if (req.headers.authorization !== undefined || !auth.enabled)
        options.onDenied?.({ path, client, reason: who.reason });
      return send(res, 401, refusedPage(who.reason, safeNext(`${url.pathname}${url.search}`)), {
        'www-authenticate': 'Bearer realm="pgveil-catalog"',
      });
    }
    if (req.method !== 'GET')
      return send(res, 405, 'the catalog is read-only', { allow: 'GET' }, 'text/plain; charset=utf-8');
    const segments = path.split('/').slice(2).map(decodeSegment);
    if (segments.some((s) => s === undefined)) return send(res, 400, notFound('That address is not valid.', who.csrf));
    const [section, name, ...rest] = segments as string[];
    if (rest.length > 0) return send(res, 404, notFound('No such page.', who.csrf));
    if (section === undefined) return send(res, 200, await productsPage(sources, who.csrf));
    if (section === 'products' && name !== undefined) {
      const body = await productPage(sources, name, url.searchParams, who.csrf);
      return send(
        res,
        body ? 200 : 404,
        body ?? notFound('No data product of that name in the running policy version.', who.csrf),
      );
    }
    if (section === 'events' && name === undefined)
      return send(res, 200, eventsPage(sources, url.searchParams, who.csrf));
    if (section === 'principals' && name === undefined) return send(res, 200, principalsPage(sources, who.csrf));
    if (section === 'principals' && name !== undefined) {
      const body = await principalPage(sources, name, who.csrf);
      return send(res, body ? 200 : 404, body ?? notFound('No user of that name, and no event about one.', who.csrf));
    }
    if (section === 'policies' && name === undefined) return send(res, 200, policiesPage(sources, who.csrf));
    return send(res, 404, notFound('No such page.', who.csrf));
  }

  function deny(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    client: string,
    status: number,
    reason: string,
  ): void {
    options.onDenied?.({ path, client, reason });
    send(res, status, reason, {}, 'text/plain; charset=utf-8');
    req.resume();
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string | string[]> = {},
  type = 'text/html; charset=utf-8',
): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, ...headers });
  res.end(body);
}

function notFound(message: string, csrf: string): string {
  return page({
    title: 'Not found',
    csrf,
    body: html`<h1>Not found</h1><p>${message}</p><p><a href="/catalog">Data products</a></p>`,
  });
}

function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** Where to go after sign-in: a catalog path of this origin only (never `//host` or a scheme). */
function safeNext(next: string | null): string {
  if (!next || !/^\/catalog(\/|\?|$)/.test(next) || next.includes('\\') || /[\r\n]/.test(next)) return '/catalog';
  return next;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function etag(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
}
