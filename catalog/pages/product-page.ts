/**
 * One data product: each relation's columns with their tags and where each tag comes from, what every
 * principal gets for each column (the cells of `pgveil access-matrix`, with the rules that decided)
 * and for the rows, the subscriptions, and the policies that apply with their file and line.
 */
import { anchorId, catalogPath, catalogUrl, html, type SafeHtml } from '../html';
import { page } from '../layout';
import { activityChart, tagChart } from '../charts';
import {
  columnTagsWithSource,
  matrixColumnName,
  matrixProfiles,
  productMatrix,
  rowsText,
  rulesFor,
  type CatalogSources,
} from '../catalog-model';
import { policyLocations } from '../policy-locations';
import { outputPort, productRelations, tagBadge, untaggedByColumn } from './shared';

/** Tables per page: a page of 25 tables of a dozen columns and ten users stays near 100 KB. */
const TABLES_PER_PAGE = 25;

export async function productPage(
  sources: CatalogSources,
  name: string,
  query: URLSearchParams,
  csrf: string,
): Promise<string | undefined> {
  const bundle = sources.bundle();
  const product = bundle.dataProducts.get(name);
  if (!product) return undefined;
  const locations = policyLocations(sources.policyPaths, bundle.version);
  const loaded = await productRelations(sources, name);
  const untagged = sources.untagged();
  const byColumn = untaggedByColumn(untagged.columns);
  const profiles = matrixProfiles(bundle);
  const totals = sources.activity.totals(name);
  const subscriptions = bundle.set.subscriptions.filter((s) => s.dataProduct === name);
  const where = locations.dataProducts.get(name);

  let tables: SafeHtml;
  let tablesNav: SafeHtml = html``;
  if ('error' in loaded) tables = html`<p class="error">${loaded.error}</p>`;
  else {
    // Long data products are split into pages of TABLES_PER_PAGE tables (each page stays small and
    // fast), after an optional name filter; both are GET parameters, so they work without script.
    const filter = (query.get('q') ?? '').trim().toLowerCase().slice(0, 200);
    const matching =
      filter === ''
        ? loaded.relations
        : loaded.relations.filter(
            (r) =>
              `${r.schema}.${r.name}`.toLowerCase().includes(filter) ||
              r.columns.some((c) => c.name.toLowerCase().includes(filter)),
          );
    const pages = Math.max(1, Math.ceil(matching.length / TABLES_PER_PAGE));
    const pageNumber = Math.min(pages, Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1));
    const shown = matching.slice((pageNumber - 1) * TABLES_PER_PAGE, pageNumber * TABLES_PER_PAGE);
    const { matrix, decisions, subscribed } = productMatrix(bundle, shown);
    const cells = new Map(matrix.rows.map((r) => [r.column, r.actions]));
    const link = (n: number): string =>
      catalogUrl(catalogPath('products', name), { q: filter || undefined, page: n === 1 ? undefined : String(n) });
    tablesNav = html`<form class="filters" method="get" action="${catalogPath('products', name)}">
<label>Tables or columns named <input type="search" name="q" value="${filter}" autocomplete="off"></label>
<button type="submit" class="primary">Show</button>${filter ? html` <a href="${catalogPath('products', name)}">All tables</a>` : ''}
</form>
<p class="meta">${matching.length} of ${loaded.relations.length} table(s)${pages > 1 ? html`, ${TABLES_PER_PAGE} per page` : ''}.</p>
${pages > 1 ? html`<nav aria-label="Pages of tables" class="pages"><ul>${Array.from({ length: pages }, (_, i) => i + 1).map((n) => html`<li>${n === pageNumber ? html`<a href="${link(n)}" aria-current="page">${n}</a>` : html`<a href="${link(n)}" rel="${n === pageNumber + 1 ? 'next' : n === pageNumber - 1 ? 'prev' : ''}">${n}</a>`}</li>`)}</ul></nav>` : ''}`;
    const principalHeads = profiles.map(
      (p, i) =>
        html`<th scope="col" data-principal="${p.name}">${p.name}${p.principal.groups.length > 0 ? html`<span class="rules">${p.principal.groups.join(', ')}</span>` : ''}${subscribed[i] ? '' : html`<span class="rules bad">not subscribed</span>`}</th>`,
    );
    tables = html`${shown.map((relation, ri) => {
      const id = anchorId('rel', `${relation.schema}.${relation.name}`);
      const relationName = matrixColumnName(relation, '').slice(0, -1);
      return html`<section class="relation" aria-labelledby="${id}">
<h3 id="${id}">${relation.schema}.${relation.name}</h3>
<div class="scroll" tabindex="0" role="region" aria-labelledby="${id}">
<table class="matrix" data-relation="${relationName}">
<thead><tr><th scope="col">Column</th><th scope="col">Type</th><th scope="col">Tags (source)</th>${principalHeads}</tr></thead>
<tbody>
${relation.columns.map((column) => {
  const key = matrixColumnName(relation, column.name);
  const actions = cells.get(key) ?? [];
  return html`<tr data-column="${key}"><th scope="row">${column.name}</th><td>${column.type}</td><td>${columnTagsWithSource(bundle, relation, column, byColumn).map((t) => tagBadge(t.tag, t.source, t.confidence))}</td>${profiles.map(
    (p, pi) => {
      const action = actions[pi] ?? 'error';
      const rules = decisions[ri]![pi]!.decision.columns[column.name]?.rules ?? [];
      return html`<td class="act-${action}" data-action="${action}">${action}${rules.length > 0 ? html`<span class="rules">${rules.join(', ')}</span>` : ''}</td>`;
    },
  )}</tr>`;
})}
<tr class="rows-line" data-rows="${relationName}"><th scope="row">rows</th><td></td><td></td>${profiles.map((p, pi) => {
        const result = decisions[ri]![pi]!;
        return html`<td>${rowsText(result)}${result.decision.rowRules.length > 0 ? html`<span class="rules">${result.decision.rowRules.join(', ')}</span>` : ''}</td>`;
      })}</tr>
</tbody>
</table>
</div>
</section>`;
    })}`;
  }

  const rules = rulesFor(bundle, name);
  return page({
    title: name,
    section: 'products',
    csrf,
    body: html`<p class="meta"><a href="/catalog">Data products</a> / ${name}</p>
<h1>${name}</h1>
<dl class="detail">
<dt>Domain</dt><dd>${product.domain}</dd>
<dt>Owner</dt><dd class="empty">not declared (the policy files have no owner field)</dd>
<dt>Output port</dt><dd><code>${outputPort(sources, name)}</code></dd>
<dt>Declared in</dt><dd>${where ? html`<code>${where.file}:${where.line}</code>` : html`<span class="empty">the files on disk differ from the running version</span>`}</dd>
<dt>Subscriptions</dt><dd>${subscriptions.length === 0 ? html`<span class="empty">none: nobody may query it</span>` : subscriptions.map((s, i) => html`${i > 0 ? '; ' : ''}${s.groups ? html`groups ${s.groups.join(', ')}` : ''}${s.groups && s.users ? ', ' : ''}${s.users ? html`users ${s.users.join(', ')}` : ''}${s.when ? html` when <code>${JSON.stringify(s.when)}</code>` : ''}`)}</dd>
<dt>Policy version</dt><dd><code id="policy-version">${bundle.version}</code></dd>
<dt>Last 24 hours</dt><dd>${totals.statements} statement(s), ${totals.refusals} refused; <a href="${`/catalog/events?product=${encodeURIComponent(name)}`}">security events</a></dd>
</dl>
<h2>Activity</h2>
${activityChart(`Statements and refusals of ${name}`, sources.activity.buckets(name))}
${tagChart(`Masked-column reads per tag in ${name}`, totals.maskedByTag)}
<h2>Tables, columns and who sees what</h2>
<p class="meta">Each cell is what <code>pgveil access-matrix</code> prints for that user and column (<span class="act-allow">allow</span> is the raw value) with the rules that decided it (their parameters are on the <a href="/catalog/policies">policies</a> page); the last line of each table is the rows the user sees. Tags: <span class="tag tag-declared">declared</span> in the policy file, <span class="tag tag-comment">comment</span> from the column comment, <span class="tag tag-discovered">discovered</span> by sampling and not tagged yet (no tag rule reaches it)${untagged.at ? html`, scanned ${untagged.at.toISOString()}` : untagged.running ? ', first scan running' : ''}.</p>
${tablesNav}
${tables}
<h2>Policies that apply</h2>
<div class="scroll" tabindex="0" role="region" aria-label="Policies that apply">
<table>
<thead><tr><th scope="col">Rule</th><th scope="col">Scope</th><th scope="col">Description</th><th scope="col">File and line</th></tr></thead>
<tbody>
${rules.map(({ rule, scope }) => {
  const at = locations.rules.get(rule.id);
  return html`<tr><th scope="row"><a href="/catalog/policies#${anchorId('rule', rule.id)}">${rule.id}</a></th><td>${scope}</td><td>${rule.description ?? ''}</td><td>${at ? html`<a href="/catalog/policies#${anchorId('rule', rule.id)}"><code>${at.file}:${at.line}</code></a>` : html`<span class="empty">unknown</span>`}</td></tr>`;
})}
</tbody>
</table>
</div>`,
  });
}
