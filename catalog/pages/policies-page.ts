/** Every rule of the running version with its file and line: where the data product page's links lead. */
import { anchorId, html } from '../html';
import { page } from '../layout';
import type { CatalogSources } from '../catalog-model';
import { policyLocations } from '../policy-locations';

export function policiesPage(sources: CatalogSources, csrf: string): string {
  const bundle = sources.bundle();
  const locations = policyLocations(sources.policyPaths, bundle.version);
  const rules = [
    ...bundle.set.globalPolicies.map((rule) => ({ rule, scope: 'global' })),
    ...bundle.set.domainPolicies.map((rule) => ({ rule, scope: `domain ${rule.domain}` })),
  ];
  return page({
    title: 'Policies',
    section: 'policies',
    csrf,
    body: html`<h1>Policies</h1>
<p class="meta">Policy version <code>${bundle.version}</code>, from ${sources.policyPaths.map((p, i) => html`${i > 0 ? ', ' : ''}<code>${p}</code>`)}.${locations.rules.size === 0 && rules.length > 0 ? html` <span class="notice">The files on disk differ from the running version: lines are not shown.</span>` : ''}</p>
${rules.map(({ rule, scope }) => {
  const at = locations.rules.get(rule.id);
  return html`<section class="card" id="${anchorId('rule', rule.id)}" aria-label="Rule ${rule.id}">
<h2>${rule.id}</h2>
<dl class="detail">
<dt>Scope</dt><dd>${scope}</dd>
<dt>File and line</dt><dd>${at ? html`<code>${at.file}:${at.line}</code>` : html`<span class="empty">unknown</span>`}</dd>
${rule.description ? html`<dt>Description</dt><dd>${rule.description}</dd>` : ''}
${rule.dataProducts ? html`<dt>Data products</dt><dd>${rule.dataProducts.join(', ')}</dd>` : ''}
${rule.tables ? html`<dt>Tables</dt><dd>${rule.tables.join(', ')}</dd>` : ''}
${rule.when ? html`<dt>When</dt><dd><code>${JSON.stringify(rule.when)}</code></dd>` : ''}
${rule.unless ? html`<dt>Unless</dt><dd><code>${JSON.stringify(rule.unless)}</code></dd>` : ''}
${(rule.columns ?? []).map((c) => html`<dt>Columns ${c.tags ? html`tagged ${c.tags.join(', ')}` : ''}${c.columns ? html` named ${c.columns.join(', ')}` : ''}</dt><dd><code>${JSON.stringify(c.action)}</code></dd>`)}
${rule.rows ? html`<dt>Rows</dt><dd><code>${JSON.stringify(rule.rows)}</code></dd>` : ''}
</dl>
</section>`;
})}`,
  });
}
