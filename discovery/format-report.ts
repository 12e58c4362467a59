/** The report as people read it: one line per column with a proposal, its evidence and what is tagged now. */
import { newTags, type ColumnProposal, type DiscoveryReport } from './discovery-report';

const percent = (x: number): string => `${Math.round(x * 100)}%`;

function evidence(p: ColumnProposal): string {
  if ('from' in p) return `lineage from ${p.from.join(', ')}`;
  const e = p.evidence;
  if (e.sampled === 0) return `${p.classifier}: column name only, no values sampled`;
  return `${p.classifier}: ${percent(e.validShare)} of ${e.sampled} sampled values valid, ${percent(e.shapeShare)} of its shape${e.nameHint ? ', name hint' : ''}`;
}

export function formatReport(report: DiscoveryReport): string {
  const lines: string[] = [];
  const sampled = report.relations.filter((r) => r.sample).length;
  lines.push(
    `data product ${report.dataProduct}: ${report.relations.length} relation(s), ${sampled} sampled, in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  for (const r of report.relations) {
    const how = r.failure
      ? `NOT SAMPLED: ${r.failure.reason} (SQLSTATE ${r.failure.sqlstate})`
      : r.sample
        ? `${r.sample.rows} row(s) by ${r.sample.method}`
        : 'no columns';
    lines.push(`  ${r.schema}.${r.name} [${kindName(r.kind)}] ${how}`);
    for (const c of r.columns) {
      if (c.proposals.length === 0 && c.tags.length === 0) continue;
      const fresh = new Set(newTags(c));
      const tagged = c.tags.length > 0 ? ` (tagged: ${c.tags.join(', ')})` : '';
      if (c.proposals.length === 0) {
        lines.push(`    ${c.name}: no proposal${tagged}`);
        continue;
      }
      for (const p of c.proposals) {
        lines.push(
          `    ${c.name}: ${fresh.has(p) ? 'NEW ' : ''}${p.tag} ${p.confidence.toFixed(2)}  ${evidence(p)}${tagged}`,
        );
      }
    }
  }
  if (report.notReached.length > 0) lines.push(`  not reached within the time budget: ${report.notReached.join(', ')}`);
  return lines.join('\n');
}

function kindName(kind: string): string {
  return { r: 'table', p: 'partitioned table', v: 'view', m: 'materialized view', f: 'foreign table' }[kind] ?? kind;
}

/** A one-line progress bar, rewritten in place (stderr on a terminal only). */
export function progressLine(done: number, total: number, relation: string): string {
  const width = 24;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${relation}`.padEnd(80).slice(0, 100);
}
