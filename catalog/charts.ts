/**
 * Charts as inline SVG rendered on the server: no script, no external file, readable by screen
 * readers (role="img" with a title and a description that states the numbers), every bar with a
 * <title> of its own. Colours come from the stylesheet's classes (the CSP allows no inline style).
 */
import { html, type SafeHtml } from './html';
import type { Bucket } from './activity';
import { BUCKET_MS } from './activity';

let chartIds = 0;

const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);

/** Statements and refusals per hour over the last 24 hours (the ten-minute buckets summed by hour). */
export function activityChart(title: string, buckets: readonly Bucket[]): SafeHtml {
  const hours: Array<{ start: number; statements: number; refusals: number }> = [];
  for (const b of buckets) {
    const start = Math.floor(b.start / 3_600_000) * 3_600_000;
    const last = hours[hours.length - 1];
    if (last && last.start === start) {
      last.statements += b.statements;
      last.refusals += b.refusals;
    } else hours.push({ start, statements: b.statements, refusals: b.refusals });
  }
  const width = 720;
  const height = 180;
  const left = 44;
  const bottom = 24;
  const top = 8;
  const max = Math.max(1, ...hours.map((h) => h.statements));
  const slot = (width - left - 4) / Math.max(1, hours.length);
  const bar = Math.max(2, slot * 0.42);
  const y = (n: number): number => top + (height - top - bottom) * (1 - n / max);
  const total = hours.reduce((n, h) => n + h.statements, 0);
  const refused = hours.reduce((n, h) => n + h.refusals, 0);
  const id = `chart-${++chartIds}`;
  const desc = `${total} statement(s) and ${refused} refusal(s) in the last 24 hours, per hour (UTC); the busiest hour had ${max === 1 && total === 0 ? 0 : max}.`;
  return html`<figure class="chart">
<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${id}-t ${id}-d" class="chart-svg" preserveAspectRatio="xMinYMin meet">
<title id="${id}-t">${title}</title>
<desc id="${id}-d">${desc}</desc>
<line x1="${left}" y1="${height - bottom}" x2="${width}" y2="${height - bottom}" class="axis"/>
<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" class="axis"/>
<text x="${left - 6}" y="${top + 10}" text-anchor="end" class="tick">${max}</text>
<text x="${left - 6}" y="${height - bottom}" text-anchor="end" class="tick">0</text>
${hours.map((h, i) => {
  const x = left + 2 + i * slot;
  const label = `${hhmm(h.start)}-${hhmm(h.start + 3_600_000)} UTC: ${h.statements} statement(s), ${h.refusals} refused`;
  return html`<g><title>${label}</title>
<rect x="${x.toFixed(1)}" y="${y(h.statements).toFixed(1)}" width="${bar.toFixed(1)}" height="${(height - bottom - y(h.statements)).toFixed(1)}" class="bar-statements"/>
<rect x="${(x + bar).toFixed(1)}" y="${y(h.refusals).toFixed(1)}" width="${bar.toFixed(1)}" height="${(height - bottom - y(h.refusals)).toFixed(1)}" class="bar-refusals"/>
${i % 6 === 0 ? html`<text x="${x.toFixed(1)}" y="${height - 6}" class="tick">${hhmm(h.start)}</text>` : ''}</g>`;
})}
</svg>
<figcaption>${title}: <span class="key key-statements">statements</span> <span class="key key-refusals">refusals</span> per hour, UTC, last 24 hours (${BUCKET_MS / 60000}-minute resolution).</figcaption>
</figure>`;
}

/** Masked-column reads per tag: one horizontal bar per tag, largest first. */
export function tagChart(title: string, counts: ReadonlyMap<string, number>): SafeHtml {
  const items = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (items.length === 0) return html`<p class="empty">${title}: no masked reads in the last 24 hours.</p>`;
  const row = 22;
  const labelWidth = 180;
  const width = 720;
  const height = items.length * row + 8;
  const max = Math.max(1, ...items.map(([, n]) => n));
  const id = `chart-${++chartIds}`;
  const desc = items.map(([tag, n]) => `${tag}: ${n}`).join('; ');
  return html`<figure class="chart">
<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${id}-t ${id}-d" class="chart-svg" preserveAspectRatio="xMinYMin meet">
<title id="${id}-t">${title}</title>
<desc id="${id}-d">${desc}</desc>
${items.map(([tag, n], i) => {
  const w = ((width - labelWidth - 60) * n) / max;
  const yTop = 4 + i * row;
  return html`<g><title>${tag}: ${n} masked read(s)</title>
<text x="${labelWidth - 6}" y="${yTop + 14}" text-anchor="end" class="tick">${tag}</text>
<rect x="${labelWidth}" y="${yTop}" width="${Math.max(1, w).toFixed(1)}" height="${row - 6}" class="bar-masked"/>
<text x="${(labelWidth + w + 6).toFixed(1)}" y="${yTop + 14}" class="tick">${n}</text></g>`;
})}
</svg>
<figcaption>${title}, last 24 hours: statements that read a column with this tag masked, hashed, nulled or otherwise not raw.</figcaption>
</figure>`;
}
