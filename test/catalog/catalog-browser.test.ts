/**
 * The catalog in headless Chromium against a running pgveil on the demo, with statements sent by
 * psql: pages load through the sign-in form, the access matrix equals `pgveil access-matrix --json`
 * cell for cell, a refusal shows on the events page (filtered with and without script), a policy
 * reload that changes a mask changes the page, no canary and no hostile markup reaches any page,
 * the keyboard reaches everything, and a phone-width viewport needs no sideways scrolling.
 * PGVEIL_CATALOG_SCREENSHOTS=docs also writes the screenshots docs/catalog.md shows.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Locator, Page } from 'playwright-core';
import { leakedCanaries } from '../adversarial/canaries';
import { launchBrowser, type Browser } from './browser';
import { startCatalogStack, type CatalogStack } from './catalog-stack';

/** The page's globals that the functions evaluated in the browser use (the suite compiles without the DOM library). */
interface PageElement {
  readonly id: string;
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
}
declare const document: {
  readonly activeElement: PageElement | null;
  readonly cookie: string;
  readonly documentElement: { readonly scrollWidth: number };
};
declare const window: { readonly innerWidth: number; readonly __pwned?: number };
declare function getComputedStyle(element: PageElement): { readonly outlineStyle: string };

const run = promisify(execFile);
const SCREENSHOTS = process.env.PGVEIL_CATALOG_SCREENSHOTS;
const PAGES = [
  '/catalog',
  '/catalog/products/demo',
  '/catalog/events',
  '/catalog/principals',
  '/catalog/principals/analyst',
  '/catalog/policies',
];

let c: CatalogStack;
let browser: Browser;
let page: Page;
/** Every text the browser saw: page HTML as served and as rendered, for the canary check at the end. */
const seen: string[] = [];
const consoleErrors: string[] = [];

const psql = (user: 'analyst' | 'steward', sql: string): Promise<{ stdout: string; stderr: string }> =>
  run('psql', ['-X', '-At', '-h', '127.0.0.1', '-p', String(c.stack.port), '-U', user, '-d', 'demo', '-c', sql], {
    env: { ...process.env, PGPASSWORD: user },
  }).catch((error: { stdout: string; stderr: string }) => ({ stdout: error.stdout, stderr: error.stderr }));

async function open(path: string): Promise<string> {
  const response = await page.goto(`${c.base}${path}`);
  expect([path, response?.status()]).toEqual([path, 200]);
  const served = await response!.text();
  seen.push(served, await page.content(), await page.innerText('body'));
  return served;
}

/** The matrix cell of a column (or the rows line of a relation) for a principal, found through the table's header. */
function cellOf(column: string, principal: string): Locator {
  return page.locator(`tr[data-column="${column}"] > td[data-action]`).nth(principalIndex(principal));
}
function rowsOf(relation: string, principal: string): Locator {
  return page.locator(`tr[data-rows="${relation}"] > td`).nth(2 + principalIndex(principal));
}
function principalIndex(principal: string): number {
  const index = [...c.stack.pgveil.policies.current().users.keys()].indexOf(principal);
  if (index < 0) throw new Error(`no principal ${principal}`);
  return index;
}

/** Loads a page until `holds` is true of it (a reload is picked up by the policy store's watcher). */
async function openUntil(path: string, holds: (page: Page) => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await open(path);
    if (await holds(page)) return;
    if (Date.now() > deadline) throw new Error(`${path} did not change within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  c = await startCatalogStack('catalog_browser');
  // Activity for the pages: reads (masked and raw) and refusals, all through psql.
  await psql('analyst', 'SELECT id, email, phone, region FROM customers ORDER BY id LIMIT 5');
  await psql('analyst', 'SELECT o.id, o.card_number FROM orders o LIMIT 5');
  await psql('steward', 'SELECT * FROM customers LIMIT 5');
  await psql('steward', 'SELECT * FROM notes');
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
});
afterAll(async () => {
  await browser?.close();
  await c.stop();
});

test('a browser is refused every page until it signs in with the admin token through the form', async () => {
  for (const path of PAGES) {
    const response = await page.goto(`${c.base}${path}`);
    expect([path, response?.status()]).toEqual([path, 401]);
    expect(await page.locator('h1').innerText()).toBe('Sign-in needed');
  }
  await page.click('text=Sign in with the admin token');
  await page.fill('#token', 'not the admin token');
  await page.click('button[type=submit]');
  expect(await page.locator('[role=alert]').innerText()).toBe('invalid admin token');
  await page.fill('#token', c.token);
  await Promise.all([page.waitForURL(`${c.base}/catalog/policies`), page.click('button[type=submit]')]);
  expect(await page.locator('h1').innerText()).toBe('Policies');
  const cookies = await browser.context.cookies(`${c.base}/catalog`);
  expect(cookies.map((k) => [k.name, k.httpOnly, k.sameSite, k.path])).toContainEqual([
    'pgveil_catalog',
    true,
    'Strict',
    '/catalog',
  ]);
  // Script cannot read the session cookie.
  expect(await page.evaluate(() => document.cookie)).toBe('');
});

test('every page loads with its heading, runs no hostile markup and logs no error (no CSP violation)', async () => {
  consoleErrors.length = 0;
  const headings: Record<string, string> = {};
  for (const path of PAGES) {
    await open(path);
    headings[path] = await page.locator('h1').innerText();
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  }
  expect(headings).toEqual({
    '/catalog': 'Data products',
    '/catalog/products/demo': 'demo',
    '/catalog/events': 'Security events',
    '/catalog/principals': 'Principals',
    '/catalog/principals/analyst': 'analyst',
    '/catalog/policies': 'Policies',
  });
  // The hostile column is shown as text.
  await open('/catalog/products/demo');
  expect(
    await page.locator('section.relation', { hasText: 'public.notes' }).locator('tbody th').allInnerTexts(),
  ).toEqual(['id', '<script>window.__pwned=1</script>', 'x" onmouseover="window.__pwned=2', 'contact', 'rows']);
  await page.locator('th', { hasText: 'onmouseover' }).hover();
  expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  expect(consoleErrors).toEqual([]);
});

test('the access matrix on the data product page equals `pgveil access-matrix --json`, cell for cell', async () => {
  const { stdout } = await run('node', [
    join(__dirname, '../../dist/cli/pgveil.js'),
    'access-matrix',
    '--config',
    join(c.stack.dir, 'pgveil.yaml'),
    '--json',
    '--no-discover',
  ]);
  const cli = JSON.parse(stdout) as {
    profiles: string[];
    rows: Array<{ column: string; actions: string[] }>;
    rowAccess: Array<{ relation: string; access: string[] }>;
  };
  await open('/catalog/products/demo');
  const cells = await page.$$eval('table.matrix', (tables) =>
    tables.flatMap((table) => {
      const principals = [...table.querySelectorAll('thead th[data-principal]')].map((th) =>
        th.getAttribute('data-principal'),
      );
      return [...table.querySelectorAll('tr[data-column]')].flatMap((tr) =>
        [...tr.querySelectorAll('td[data-action]')].map((td, i) => [
          tr.getAttribute('data-column'),
          principals[i],
          td.getAttribute('data-action'),
          td.firstChild?.textContent,
        ]),
      );
    }),
  );
  const expected = cli.rows.flatMap((r) => r.actions.map((a, i) => [r.column, cli.profiles[i], a, a]));
  expect(cells).toEqual(expected);
  // Every table of the upstream is there, and the analyst's row filter is the demo's.
  expect(expected.length).toBeGreaterThan(20);
  expect(await rowsOf('demo:public.customers', 'analyst').innerText()).toBe("region = 'EU'\nsales-region-rows");
  expect(await rowsOf('demo:public.customers', 'steward').innerText()).toBe('all rows');
  expect(cli.rowAccess.find((r) => r.relation === 'demo:public.customers')?.access).toEqual(['filtered', 'all']);
});

test('the charts are inline SVG with a title and the numbers in their description: statements and refusals, masked reads per tag', async () => {
  await open('/catalog/products/demo');
  const charts = page.locator('figure.chart svg[role=img]');
  expect(await charts.count()).toBe(2);
  expect(await charts.nth(0).locator('title').first().textContent()).toBe('Statements and refusals of demo');
  expect(await charts.nth(0).locator('desc').textContent()).toMatch(
    /^4 statement\(s\) and 0 refusal\(s\) in the last 24 hours/,
  );
  // The analyst named email and phone (masked) and card_number (masked); the steward read raw values,
  // and the masked columns the analyst did not name (ssn, birth_date) were not read.
  expect(await charts.nth(1).locator('desc').textContent()).toBe('finance.card: 1; pii.email: 1; pii.phone: 1');
});

test('tags show where they come from: the policy file, a column comment, discovery (sampled in the background)', async () => {
  const tagsOf = (column: string): Promise<string> =>
    page.locator(`tr[data-column="${column}"] > td`).nth(1).innerText();
  await openUntil('/catalog/products/demo', async (p) => (await p.locator('.tag-discovered').count()) > 0, 30_000);
  expect(await tagsOf('demo:public.customers.name')).toBe('pii.name (declared)');
  expect(await tagsOf('demo:public.customers.email')).toBe('pii.email (comment)');
  expect(await tagsOf('demo:public.notes.contact')).toBe('pii.email (discovered)');
  // Untagged, so no rule reaches it: the analyst reads it raw, which is what the page warns about.
  expect(await cellOf('demo:public.notes.contact', 'analyst').getAttribute('data-action')).toBe('allow');
  await open('/catalog');
  expect(await page.locator('tbody tr').first().locator('td').nth(5).innerText()).toBe('1');
});

test('a statement refused through psql appears on the events page, filtered with and without script', async () => {
  const { stderr } = await psql('analyst', 'DELETE FROM customers');
  expect(stderr).toContain('ERROR:  delete statements are not allowed through pgveil');
  await open('/catalog/events?product=demo&kind=statement_refused&user=analyst');
  const rows = page.locator('tr.event');
  expect(await rows.first().locator('summary').innerText()).toBe('delete statements are not allowed through pgveil');
  expect(await rows.first().locator('td').nth(1).innerText()).toBe('statement_refused');
  // Newest first: a second refusal goes on top.
  await psql('analyst', 'DROP TABLE orders');
  await open('/catalog/events?user=analyst');
  expect(await rows.first().locator('summary').innerText()).toMatch(/^drop/);
  // Each event's detail opens (a <details> element: no script needed).
  await rows.first().locator('summary').click();
  expect(await rows.first().locator('dl').innerText()).toContain('reasons');
  // The filter is a GET form: it works without script, and the choice lands in the address.
  const plain = await launchBrowser({ javaScriptEnabled: false });
  try {
    const p = await plain.context.newPage();
    await p.goto(`${c.base}/catalog/login`);
    await p.fill('#token', c.token);
    await Promise.all([p.waitForURL(`${c.base}/catalog`), p.click('button[type=submit]')]);
    await p.goto(`${c.base}/catalog/events`);
    await p.selectOption('select[name=kind]', 'statement_refused');
    await p.fill('input[name=user]', 'analyst');
    await Promise.all([p.waitForURL(/kind=statement_refused/), p.click('text=Filter')]);
    expect(new URL(p.url()).searchParams.get('user')).toBe('analyst');
    const summaries = await p.locator('tr.event summary').allInnerTexts();
    expect(summaries).toHaveLength(2);
    expect(summaries[1]).toBe('delete statements are not allowed through pgveil');
    seen.push(await p.content());
  } finally {
    await plain.close();
  }
  // The principal page lists the user's recent refusals.
  await open('/catalog/principals/analyst');
  expect(await page.locator('tr.event summary').allInnerTexts()).toHaveLength(2);
});

test('the keyboard reaches the skip link, the navigation and the tables; focus is visible', async () => {
  await open('/catalog');
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
  await page.keyboard.press('Enter');
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('content');
  await open('/catalog');
  const order: string[] = [];
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    order.push(
      await page.evaluate(
        () => document.activeElement?.getAttribute('aria-label') || document.activeElement?.textContent?.trim() || '',
      ),
    );
  }
  expect(order.slice(0, 7)).toEqual([
    'Skip to content',
    'pgveil catalog',
    'Data products',
    'Security events',
    'Principals',
    'Policies',
    'Sign out',
  ]);
  // The table region scrolls by keyboard: it is focusable and labelled.
  expect(order[7]).toBe('Data products table');
  expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
  // A link is followed with Enter.
  await page.focus('a[href="/catalog/products/demo"]');
  await Promise.all([page.waitForURL(`${c.base}/catalog/products/demo`), page.keyboard.press('Enter')]);
  expect(await page.locator('h1').innerText()).toBe('demo');
});

test('at a phone width every page fits: no sideways scrolling of the page, wide tables scroll in their region', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    for (const path of PAGES) {
      await open(path);
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
      }));
      expect([path, widths.page <= widths.viewport]).toEqual([path, true]);
      if (SCREENSHOTS && (path === '/catalog/products/demo' || path === '/catalog/events'))
        await page.screenshot({
          path: join(SCREENSHOTS, `catalog-phone-${path === '/catalog/events' ? 'events' : 'product'}.png`),
        });
    }
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
  if (SCREENSHOTS) {
    for (const [path, name] of [
      ['/catalog', 'products'],
      ['/catalog/products/demo', 'product'],
      ['/catalog/events', 'events'],
      ['/catalog/principals/analyst', 'principal'],
      ['/catalog/policies', 'policies'],
    ] as const) {
      await open(path);
      await page.screenshot({ path: join(SCREENSHOTS, `catalog-${name}.png`) });
    }
    await open('/catalog/products/demo');
    await page
      .locator('section.relation', { hasText: 'public.customers' })
      .screenshot({ path: join(SCREENSHOTS, 'catalog-matrix.png') });
  }
});

test('a policy reload that changes a mask changes the data product page at the next load', async () => {
  const cell = (): Locator => cellOf('demo:public.customers.email', 'analyst');
  await open('/catalog/products/demo');
  expect(await cell().getAttribute('data-action')).toBe('mask_email');
  const before = readFileSync(c.stack.policiesFile, 'utf8');
  writeFileSync(c.stack.policiesFile, before.replace('action: { kind: mask_email }', 'action: { kind: "null" }'));
  await openUntil('/catalog/products/demo', async () => (await cell().getAttribute('data-action')) === 'null');
  expect(await cell().innerText()).toBe('null\nmask-pii');
  // psql agrees with the page.
  expect((await psql('analyst', 'SELECT email IS NULL FROM customers ORDER BY id LIMIT 1')).stdout).toBe('t\n');
  expect(await page.locator('#policy-version').innerText()).toBe(c.stack.pgveil.policies.current().version);
});

test('no page the browser was shown carries a raw value of a protected column', () => {
  expect(seen.length).toBeGreaterThan(40);
  expect(leakedCanaries(seen.join('\n'))).toEqual([]);
});
