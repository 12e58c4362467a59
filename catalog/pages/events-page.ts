/**
 * Security events, newest first, filtered by GET parameters (so the filter works without script and
 * a filtered view can be bookmarked): data product, kind, user, and a time range in UTC.
 */
import { html, catalogUrl, catalogPath, type SafeHtml } from '../html';
import { page } from '../layout';
import type { CatalogSources } from '../catalog-model';
import type { SecurityEvent } from '../../audit';
import { when } from './shared';

const SHOWN = 200;

interface EventFilter {
  readonly product?: string;
  readonly kind?: string;
  readonly user?: string;
  /** `YYYY-MM-DDTHH:MM` (a datetime-local value), read as UTC. */
  readonly since?: string;
  readonly until?: string;
}

function eventFilterOf(query: URLSearchParams): EventFilter {
  const get = (k: string): string | undefined => {
    const v = query.get(k)?.trim();
    return v ? v.slice(0, 200) : undefined;
  };
  return { product: get('product'), kind: get('kind'), user: get('user'), since: get('since'), until: get('until') };
}

const utc = (text: string | undefined): number | undefined => {
  if (!text) return undefined;
  const ms = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(text) ? text : `${text}Z`);
  return Number.isNaN(ms) ? undefined : ms;
};

function filterEvents(events: readonly SecurityEvent[], f: EventFilter): SecurityEvent[] {
  const since = utc(f.since);
  const until = utc(f.until);
  return events.filter((e) => {
    if (f.product !== undefined && e.dataProduct !== f.product) return false;
    if (f.kind !== undefined && e.kind !== f.kind) return false;
    if (f.user !== undefined && e.actor.user !== f.user) return false;
    const t = Date.parse(e.time);
    if (since !== undefined && t < since) return false;
    if (until !== undefined && t > until) return false;
    return true;
  });
}

export function eventRows(events: readonly SecurityEvent[]): SafeHtml {
  return html`${events.map(
    (e) => html`<tr class="event" data-kind="${e.kind}">
<td><time datetime="${e.time}">${when(Date.parse(e.time))}</time></td>
<td>${e.kind}</td>
<td class="sev-${e.severity}">${e.severity}</td>
<td>${e.dataProduct ? html`<a href="${catalogPath('products', e.dataProduct)}">${e.dataProduct}</a>` : ''}</td>
<td>${e.actor.user ? html`<a href="${catalogPath('principals', e.actor.user)}">${e.actor.user}</a>` : ''}</td>
<td><details><summary>${e.message}</summary>
<dl class="detail">
<dt>reasons</dt><dd>${e.reasons.join(', ') || '-'}</dd>
<dt>session</dt><dd><code>${e.actor.session || '-'}</code></dd>
<dt>client</dt><dd><code>${e.actor.client || '-'}</code></dd>
${e.finding ? html`<dt>finding</dt><dd>${e.finding.relation}.${e.finding.column}: ${e.finding.proposedTags.join(', ')} (${e.finding.classifier}, confidence ${e.finding.confidence.toFixed(2)})</dd>` : ''}
${e.checkpoint ? html`<dt>checkpoint</dt><dd><code>${JSON.stringify(e.checkpoint)}</code></dd>` : ''}
</dl></details></td>
</tr>`,
  )}`;
}

export function eventsPage(sources: CatalogSources, query: URLSearchParams, csrf: string): string {
  const filter = eventFilterOf(query);
  const all = sources.activity.recentEvents();
  const matching = filterEvents(all, filter);
  const kinds: string[] = [...new Set(all.map((e) => e.kind))].sort();
  if (filter.kind && !kinds.includes(filter.kind)) kinds.push(filter.kind);
  const products = [...sources.bundle().dataProducts.keys()].sort();
  const option = (value: string, selected: string | undefined): SafeHtml =>
    html`<option value="${value}"${value === selected ? html` selected` : ''}>${value}</option>`;
  return page({
    title: 'Security events',
    section: 'events',
    csrf,
    body: html`<h1>Security events</h1>
<form class="filters" method="get" action="/catalog/events" data-autosubmit>
<label>Data product <select name="product"><option value="">any</option>${products.map((p) => option(p, filter.product))}</select></label>
<label>Kind <select name="kind"><option value="">any</option>${kinds.map((k) => option(k, filter.kind))}</select></label>
<label>User <input type="text" name="user" value="${filter.user ?? ''}" autocomplete="off"></label>
<label>From (UTC) <input type="datetime-local" name="since" value="${filter.since ?? ''}"></label>
<label>To (UTC) <input type="datetime-local" name="until" value="${filter.until ?? ''}"></label>
<button type="submit" class="primary">Filter</button>
<a href="/catalog/events">Clear</a>
</form>
<p class="meta">${matching.length} matching event(s) of the ${all.length} this process has kept${matching.length > SHOWN ? html`, the newest ${SHOWN} shown` : ''}. <a href="${catalogUrl('/catalog/events', { ...filter })}">Link to this view</a>.</p>
<div class="scroll" tabindex="0" role="region" aria-label="Security events">
<table>
<thead><tr><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Severity</th><th scope="col">Data product</th><th scope="col">User</th><th scope="col">Event (open for detail)</th></tr></thead>
<tbody>
${matching.length === 0 ? html`<tr><td colspan="6" class="empty">No event matches.</td></tr>` : eventRows(matching.slice(0, SHOWN))}
</tbody>
</table>
</div>`,
  });
}
