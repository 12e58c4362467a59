/**
 * The catalog over HTTP on a running pgveil: what is refused without a session, how the sign-in
 * form guards itself (CSRF, origin), the cookie's attributes, the headers of every page, escaping of
 * hostile names, and no canary in any page.
 */
import { join } from 'node:path';
import pino from 'pino';
import { leakedCanaries } from '../adversarial/canaries';
import { waitForText } from '../support/wait-for-text';
import { loadServerConfig } from '../../cli/config/load-server-config';
import { startPgveil } from '../../cli/runtime/start-pgveil';
import { CONTENT_SECURITY_POLICY } from '../../catalog/catalog-handler';
import { HOSTILE_DESCRIPTION, SCRIPT_COLUMN, signIn, startCatalogStack, type CatalogStack } from './catalog-stack';

const PAGES = [
  '/catalog',
  '/catalog/products/demo',
  '/catalog/events',
  '/catalog/principals',
  '/catalog/principals/analyst',
  '/catalog/policies',
];

let c: CatalogStack;
let cookie: string;
beforeAll(async () => {
  c = await startCatalogStack('catalog_http');
  cookie = await signIn(c.base, c.token);
});
afterAll(() => c.stop());

/** An answer read to its end (an unread body would hold its connection open past the test). */
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}
const answer = async (r: Response): Promise<Answer> => ({ status: r.status, headers: r.headers, body: await r.text() });
const get = async (path: string, headers: Record<string, string> = {}): Promise<Answer> =>
  answer(await fetch(`${c.base}${path}`, { headers, redirect: 'manual' }));

test('without a session or token every page is refused with 401 and shows no catalog data', async () => {
  for (const path of PAGES) {
    const r = await get(path);
    const body = r.body;
    expect([path, r.status]).toEqual([path, 401]);
    expect(r.headers.get('www-authenticate')).toBe('Bearer realm="pgveil-catalog"');
    expect(body).toContain('Sign in with the admin token');
    expect(body).not.toContain('customers');
    expect(body).not.toContain('mask-pii');
  }
  expect((await get('/catalog', { authorization: 'Bearer not-the-token-at-all' })).status).toBe(401);
  expect((await get('/catalog', { cookie: 'pgveil_catalog=forged-session-id' })).status).toBe(401);
});

test('the admin token as a bearer header opens the pages (for tools)', async () => {
  const r = await get('/catalog/products/demo', { authorization: `Bearer ${c.token}` });
  expect(r.status).toBe(200);
  expect(r.body).toContain('public.customers');
});

test('sign-in refuses a form without its CSRF cookie, a cross-site origin and a wrong token', async () => {
  const form = await get('/catalog/login');
  const loginCookie = form.headers.getSetCookie()[0]!;
  expect(loginCookie).toMatch(
    /^pgveil_catalog_login=[\w-]{32}; Path=\/catalog; HttpOnly; SameSite=Strict; Max-Age=600$/,
  );
  const csrf = /name="csrf" value="([^"]+)"/.exec(form.body)![1]!;
  const post = async (headers: Record<string, string>, body: Record<string, string>): Promise<Answer> =>
    answer(
      await fetch(`${c.base}/catalog/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(body).toString(),
      }),
    );
  const pair = loginCookie.split(';')[0]!;
  expect((await post({}, { csrf, token: c.token })).status).toBe(403);
  expect((await post({ cookie: pair }, { csrf: 'x'.repeat(32), token: c.token })).status).toBe(403);
  expect((await post({ cookie: pair, origin: 'http://evil.example' }, { csrf, token: c.token })).status).toBe(403);
  expect((await post({ cookie: pair, 'sec-fetch-site': 'cross-site' }, { csrf, token: c.token })).status).toBe(403);
  const wrong = await post({ cookie: pair }, { csrf, token: 'wrong-token-wrong-token' });
  expect(wrong.status).toBe(401);
  expect(wrong.headers.getSetCookie().some((h) => h.startsWith('pgveil_catalog='))).toBe(false);
  const ok = await post({ cookie: pair, origin: c.base }, { csrf, token: c.token, next: '//evil.example/x' });
  expect(ok.status).toBe(303);
  expect(ok.headers.get('location')).toBe('/catalog');
  const session = ok.headers.getSetCookie().find((h) => h.startsWith('pgveil_catalog='))!;
  // Plain HTTP (the admin port has no TLS): no Secure attribute, which the browser would refuse to send back.
  expect(session).toMatch(/^pgveil_catalog=[\w-]{43}; Path=\/catalog; HttpOnly; SameSite=Strict$/);
});

test('every page answers with the strict CSP and security headers, and GET is all it accepts', async () => {
  for (const path of PAGES) {
    const r = await get(path, { cookie });
    expect([path, r.status]).toEqual([path, 200]);
    expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('cache-control')).toBe('no-store');
    const body = r.body;
    // Nothing from another origin, no inline script or style.
    expect(body).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(body).not.toMatch(/<script(?! src="\/catalog\/assets\/catalog\.js" defer><\/script>)/);
    expect(body).not.toMatch(/ style=/);
  }
  const post = await answer(await fetch(`${c.base}/catalog/products/demo`, { method: 'POST', headers: { cookie } }));
  expect(post.status).toBe(405);
});

test('hostile column names and policy texts are escaped wherever they appear', async () => {
  const product = (await get('/catalog/products/demo', { cookie })).body;
  expect(product).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;');
  expect(product).not.toContain(SCRIPT_COLUMN);
  expect(product).toContain('x&quot; onmouseover=&quot;window.__pwned=2');
  expect(product).not.toContain('" onmouseover="');
  const policies = (await get('/catalog/policies', { cookie })).body;
  expect(policies).toContain('&lt;img src=x onerror=&quot;window.__pwned=3&quot;&gt; notes policy');
  expect(policies).not.toContain(HOSTILE_DESCRIPTION);
});

test('no page carries a raw value of a protected column, after analysts and the steward read them', async () => {
  const analyst = await c.stack.connect('analyst');
  const steward = await c.stack.connect('steward');
  try {
    await analyst.query('SELECT * FROM customers');
    await analyst.query('SELECT * FROM notes');
    // The steward reads raw values: they go to the steward, never into the catalog.
    const raw = await steward.query('SELECT * FROM notes');
    expect(JSON.stringify(raw.rows)).toContain('zq7canary.script@example.com');
    await steward.query('SELECT email, ssn FROM customers WHERE id IN (1, 2, 3)');
  } finally {
    await analyst.end();
    await steward.end();
  }
  for (const path of [...PAGES, '/catalog/principals/steward', '/catalog/events?user=analyst']) {
    const { body } = await get(path, { cookie });
    expect([path, leakedCanaries(body)]).toEqual([path, []]);
  }
});

test('a restarted pgveil shows the last 24 hours from its audit log and its event file', async () => {
  const analyst = await c.stack.connect('analyst');
  await expect(analyst.query('DELETE FROM orders')).rejects.toMatchObject({ code: '42501' });
  await analyst.end();
  await waitForText(c.stack.eventsFile, 'delete statements are not allowed');
  const counts = (body: string): string[] => [
    .../<td class="num">(\d+)<\/td>\s*<td class="num">(\d+)<\/td>\s*<\/tr>/.exec(body)!.slice(1),
  ];
  const before = counts((await get('/catalog', { cookie })).body);
  expect(Number(before[0])).toBeGreaterThan(3);
  expect(Number(before[1])).toBeGreaterThanOrEqual(1);
  // A second process on the same files (ports from 0), as after a restart.
  const again = await startPgveil(loadServerConfig(join(c.stack.dir, 'pgveil.yaml')), pino({ level: 'silent' }));
  try {
    const read = async (path: string): Promise<string> =>
      (
        await fetch(`http://127.0.0.1:${again.adminPort}${path}`, { headers: { authorization: `Bearer ${c.token}` } })
      ).text();
    expect(counts(await read('/catalog'))).toEqual(before);
    expect(await read('/catalog/events?kind=statement_refused&user=analyst')).toContain(
      'delete statements are not allowed through pgveil',
    );
  } finally {
    await again.close();
  }
});
