/** The page shell: landmarks, a skip link, the navigation, the stylesheet and the script of the process. */
import { html, type SafeHtml } from './html';

type Section = 'products' | 'events' | 'principals' | 'policies';

export interface PageOptions {
  readonly title: string;
  readonly section?: Section;
  /** The session's CSRF token, for the sign-out form; absent on the sign-in page. */
  readonly csrf?: string;
  readonly body: SafeHtml;
}

export function page(options: PageOptions): string {
  const link = (section: Section, href: string, label: string): SafeHtml =>
    html`<li><a href="${href}"${options.section === section ? html` aria-current="page"` : ''}>${label}</a></li>`;
  return `<!doctype html>\n${
    html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${options.title} - pgveil catalog</title>
<link rel="icon" href="/catalog/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/catalog/assets/catalog.css">
<script src="/catalog/assets/catalog.js" defer></script>
</head>
<body>
<a class="skip" href="#content">Skip to content</a>
<header class="top">
<a class="brand" href="/catalog">pgveil catalog</a>
${
  options.csrf !== undefined
    ? html`<nav aria-label="Catalog"><ul>
${link('products', '/catalog', 'Data products')}
${link('events', '/catalog/events', 'Security events')}
${link('principals', '/catalog/principals', 'Principals')}
${link('policies', '/catalog/policies', 'Policies')}
</ul></nav>
<form method="post" action="/catalog/logout"><input type="hidden" name="csrf" value="${options.csrf}"><button type="submit">Sign out</button></form>`
    : ''
}
</header>
<main id="content" tabindex="-1">
${options.body}
</main>
</body>
</html>`.text
  }\n`;
}
