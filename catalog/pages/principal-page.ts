/** Principals: the users of the policy files, and for one of them what it sees across data products. */
import { anchorId, catalogPath, html, type SafeHtml } from '../html';
import { page } from '../layout';
import { actionText, matrixProfiles, rowsText, type CatalogSources } from '../catalog-model';
import { eventRows } from './events-page';
import { productRelations } from './shared';

export function principalsPage(sources: CatalogSources, csrf: string): string {
  const profiles = matrixProfiles(sources.bundle());
  return page({
    title: 'Principals',
    section: 'principals',
    csrf,
    body: html`<h1>Principals</h1>
<p class="meta">The users of the policy files. Users known only from signed tokens or Redis appear in events.</p>
<div class="scroll" tabindex="0" role="region" aria-label="Principals">
<table>
<thead><tr><th scope="col">User</th><th scope="col">Groups</th><th scope="col">Attributes</th></tr></thead>
<tbody>
${profiles.map((p) => html`<tr><th scope="row"><a href="${catalogPath('principals', p.name)}">${p.name}</a></th><td>${p.principal.groups.join(', ')}</td><td>${attributes(p.principal.attributes)}</td></tr>`)}
</tbody>
</table>
</div>`,
  });
}

function attributes(a: Readonly<Record<string, string | readonly string[]>>): SafeHtml {
  return html`${Object.entries(a).map(([k, v], i) => html`${i > 0 ? ', ' : ''}<code>${k}=${typeof v === 'string' ? v : v.join('|')}</code>`)}`;
}

export async function principalPage(sources: CatalogSources, name: string, csrf: string): Promise<string | undefined> {
  const bundle = sources.bundle();
  const refusals = sources.activity
    .recentEvents()
    .filter((e) => e.actor.user === name && e.kind === 'statement_refused');
  const profile = matrixProfiles(bundle).find((p) => p.name === name);
  if (!profile && refusals.length === 0) return undefined;
  const products: SafeHtml[] = [];
  if (profile) {
    for (const product of [...bundle.dataProducts.keys()].sort()) {
      const subscribed = bundle.snapshot.subscription(profile.principal, product).allowed;
      const loaded = await productRelations(sources, product);
      const id = anchorId('product', product);
      if (!subscribed) {
        products.push(
          html`<section aria-labelledby="${id}"><h3 id="${id}"><a href="${catalogPath('products', product)}">${product}</a></h3><p class="bad">Not subscribed: every statement on this data product is refused.</p></section>`,
        );
        continue;
      }
      if ('error' in loaded) {
        products.push(
          html`<section aria-labelledby="${id}"><h3 id="${id}">${product}</h3><p class="error">${loaded.error}</p></section>`,
        );
        continue;
      }
      products.push(html`<section aria-labelledby="${id}"><h3 id="${id}"><a href="${catalogPath('products', product)}">${product}</a></h3>
<div class="scroll" tabindex="0" role="region" aria-label="What ${name} sees in ${product}">
<table>
<thead><tr><th scope="col">Relation</th><th scope="col">Rows</th><th scope="col">Columns not shown raw</th></tr></thead>
<tbody>
${loaded.relations.map((r) => {
  const result = bundle.snapshot.decide(profile.principal, r, profile.principal.purpose);
  const hidden = r.columns.filter((c) => actionText(result, c.name) !== 'raw');
  return html`<tr><th scope="row">${r.schema}.${r.name}</th><td>${rowsText(result)}</td><td>${hidden.length === 0 ? html`<span class="empty">none: all ${r.columns.length} raw</span>` : hidden.map((c, i) => html`${i > 0 ? '; ' : ''}<strong>${c.name}</strong>: ${actionText(result, c.name)}`)}</td></tr>`;
})}
</tbody>
</table>
</div></section>`);
    }
  }
  return page({
    title: name,
    section: 'principals',
    csrf,
    body: html`<p class="meta"><a href="/catalog/principals">Principals</a> / ${name}</p>
<h1>${name}</h1>
${
  profile
    ? html`<dl class="detail"><dt>Groups</dt><dd>${profile.principal.groups.join(', ') || '-'}</dd><dt>Attributes</dt><dd>${attributes(profile.principal.attributes)}</dd></dl>
<p class="meta">As the users file declares them; attributes and grants from Redis or a token can change a decision at connection time.</p>`
    : html`<p class="notice">Not in the users file (known from events only).</p>`
}
<h2>What ${name} sees</h2>
${products}
<h2>Recent refusals</h2>
<div class="scroll" tabindex="0" role="region" aria-label="Recent refusals of ${name}">
<table>
<thead><tr><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Severity</th><th scope="col">Data product</th><th scope="col">User</th><th scope="col">Event (open for detail)</th></tr></thead>
<tbody>${refusals.length === 0 ? html`<tr><td colspan="6" class="empty">None kept.</td></tr>` : eventRows(refusals.slice(0, 50))}</tbody>
</table>
</div>`,
  });
}
