/** Who sees what: principal profiles x columns -> action (and each profile's rows), for people and for tools. */
import type { PolicySnapshot, RelationRef } from './decision';
import type { Principal } from './principal';

export interface AccessMatrix {
  readonly profiles: readonly string[];
  readonly rows: ReadonlyArray<{ readonly column: string; readonly actions: readonly string[] }>;
  readonly rowAccess: ReadonlyArray<{ readonly relation: string; readonly access: readonly string[] }>;
  /** Columns discovery flags as sensitive that no tag covers: no tag rule reaches them. */
  readonly untagged?: ReadonlyArray<{
    readonly column: string;
    readonly proposedTags: readonly string[];
    readonly confidence: number;
  }>;
}

export function accessMatrix(
  snapshot: PolicySnapshot,
  profiles: ReadonlyArray<{ readonly name: string; readonly principal: Principal }>,
  relations: readonly RelationRef[],
  untagged?: AccessMatrix['untagged'],
): AccessMatrix {
  const rows: Array<{ column: string; actions: string[] }> = [];
  const rowAccess: Array<{ relation: string; access: string[] }> = [];
  for (const relation of relations) {
    const decisions = profiles.map((p) => snapshot.decide(p.principal, relation, p.principal.purpose));
    for (const column of relation.columns) {
      rows.push({
        column: `${relation.dataProduct}:${relation.schema}.${relation.name}.${column.name}`,
        actions: decisions.map((d) =>
          d.errors.length > 0
            ? 'error'
            : d.decision.access === 'deny'
              ? 'deny'
              : (d.decision.columns[column.name]?.action.kind ?? 'allow'),
        ),
      });
    }
    rowAccess.push({
      relation: `${relation.dataProduct}:${relation.schema}.${relation.name}`,
      access: decisions.map((d) => (d.decision.rows.kind === 'filter' ? 'filtered' : d.decision.rows.kind)),
    });
  }
  return { profiles: profiles.map((p) => p.name), rows, rowAccess, ...(untagged ? { untagged } : {}) };
}

export function formatAccessMatrix(m: AccessMatrix): string {
  const header = ['column', ...m.profiles];
  const lines = [
    ...m.rows.map((r) => [r.column, ...r.actions]),
    ...m.rowAccess.map((r) => [`${r.relation} (rows)`, ...r.access]),
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join(' | ')
      .trimEnd();
  const table = [fmt(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...lines.map(fmt)];
  if (m.untagged && m.untagged.length > 0) {
    table.push('', 'discovered but untagged (no tag rule reaches these columns):');
    for (const u of m.untagged)
      table.push(`  ${u.column}: looks like ${u.proposedTags.join(', ')} (confidence ${u.confidence.toFixed(2)})`);
  }
  return table.join('\n');
}
