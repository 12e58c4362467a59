/** The list of data products: domain, owner, output port, tables, tags, untagged columns, last 24 hours. */
import { html, catalogPath, type SafeHtml } from '../html';
import { page } from '../layout';
import { activityChart, tagChart } from '../charts';
import type { CatalogSources } from '../catalog-model';
import { outputPort, productRelations, untaggedByColumn } from './shared';
import { columnTagsWithSource } from '../catalog-model';
import { anchorId } from '../html';

const NONE = new Map();

export async function productsPage(sources: CatalogSources, csrf: string): Promise<string> {
  const bundle = sources.bundle();
  const untagged = sources.untagged();
  const byColumn = untaggedByColumn(untagged.columns);
  const rows: SafeHtml[] = [];
  const charts: SafeHtml[] = [];
  for (const product of [...bundle.dataProducts.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const loaded = await productRelations(sources, product.name);
    const totals = sources.activity.totals(product.name);
    const columns = 'relations' in loaded ? loaded.relations.flatMap((r) => r.columns.map((c) => ({ r, c }))) : [];
    const tagged = columns.filter(({ r, c }) => columnTagsWithSource(bundle, r, c, NONE).length > 0).length;
    const chartId = anchorId('activity', product.name);
    const open = [...byColumn.keys()].filter((k) => k.startsWith(`${product.name}:`)).length;
    rows.push(html`<tr>
<th scope="row"><a href="${catalogPath('products', product.name)}">${product.name}</a></th>
<td>${product.domain}</td>
<td class="empty">not declared</td>
<td><code>${outputPort(sources, product.name)}</code></td>
<td class="num">${'relations' in loaded ? loaded.relations.length : html`<span class="bad" title="${loaded.error}">unavailable</span>`}</td>
<td class="num">${tagged}</td>
<td class="num">${untagged.at ? open : html`<span class="empty">${untagged.running ? 'scanning' : 'not scanned'}</span>`}</td>
<td class="num">${totals.statements}</td>
<td class="num">${totals.refusals}</td>
</tr>`);
    charts.push(html`<section aria-labelledby="${chartId}">
<h3 id="${chartId}"><a href="${catalogPath('products', product.name)}">${product.name}</a></h3>
${activityChart(`Statements and refusals of ${product.name}`, sources.activity.buckets(product.name))}
${tagChart(`Masked-column reads per tag in ${product.name}`, totals.maskedByTag)}
</section>`);
  }
  return page({
    title: 'Data products',
    section: 'products',
    csrf,
    body: html`<h1>Data products</h1>
<p class="meta">Policy version <code>${bundle.version}</code>. Counts of the last 24 hours are kept by this pgveil process since it started. Discovered but untagged columns: ${untagged.at ? html`scanned ${untagged.at.toISOString()}` : untagged.running ? 'the first scan is running' : 'not scanned yet'}${untagged.error ? html` <span class="bad">(last scan failed: ${untagged.error})</span>` : ''}.</p>
<div class="scroll" tabindex="0" role="region" aria-label="Data products table">
<table>
<thead><tr><th scope="col">Data product</th><th scope="col">Domain</th><th scope="col">Owner</th><th scope="col">Output port</th><th scope="col" class="num">Tables</th><th scope="col" class="num">Tagged columns</th><th scope="col" class="num">Discovered, untagged</th><th scope="col" class="num">Statements (24 h)</th><th scope="col" class="num">Refusals (24 h)</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>
<h2>Activity</h2>
${charts}`,
  });
}
