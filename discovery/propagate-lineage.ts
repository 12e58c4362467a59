/**
 * Tags follow lineage: a view or materialized view column computed from a tagged column (tagged
 * now, or proposed by a classifier) is proposed the same tag, through any number of views.
 */
import type { ColumnFinding, ColumnProposal, LineageProposal, RelationFinding } from './discovery-report';
import type { ColumnSource } from './view-lineage';

export function propagateLineage(
  relations: readonly RelationFinding[],
  lineage: ReadonlyMap<string, readonly ColumnSource[][]>,
  minConfidence: number,
): RelationFinding[] {
  const byName = new Map(relations.map((r) => [`${r.schema}.${r.name}`, r]));
  const memo = new Map<string, Map<string, { confidence: number; from: Set<string> }>>();

  /** Every tag a column carries or is proposed, with the best confidence, and the base columns it comes from. */
  const tagsOf = (
    relation: string,
    column: string,
    visiting: Set<string>,
  ): Map<string, { confidence: number; from: Set<string> }> => {
    const key = `${relation}.${column}`;
    const cached = memo.get(key);
    if (cached) return cached;
    const out = new Map<string, { confidence: number; from: Set<string> }>();
    if (visiting.has(key)) return out;
    visiting.add(key);
    const r = byName.get(relation);
    const index = r?.columns.findIndex((c) => c.name === column) ?? -1;
    const finding = index >= 0 ? r!.columns[index]! : undefined;
    const add = (tag: string, confidence: number, from: string): void => {
      const entry = out.get(tag) ?? { confidence: 0, from: new Set<string>() };
      entry.confidence = Math.max(entry.confidence, confidence);
      entry.from.add(from);
      out.set(tag, entry);
    };
    for (const tag of finding?.tags ?? []) add(tag, 1, key);
    for (const p of finding?.proposals ?? [])
      if (p.classifier !== 'lineage' && p.confidence >= minConfidence) add(p.tag, p.confidence, key);
    const sources = index >= 0 ? lineage.get(relation)?.[index] : undefined;
    for (const s of sources ?? []) {
      for (const [tag, e] of tagsOf(`${s.schema}.${s.relation}`, s.column, visiting))
        for (const f of e.from) add(tag, e.confidence, f);
    }
    visiting.delete(key);
    memo.set(key, out);
    return out;
  };

  return relations.map((r) => {
    const sources = lineage.get(`${r.schema}.${r.name}`);
    if (!sources) return r;
    const columns: ColumnFinding[] = r.columns.map((c, i) => {
      const own = new Set(c.proposals.map((p) => p.tag));
      const inherited: LineageProposal[] = [];
      const merged = new Map<string, { confidence: number; from: Set<string> }>();
      for (const s of sources[i] ?? []) {
        for (const [tag, e] of tagsOf(
          `${s.schema}.${s.relation}`,
          s.column,
          new Set([`${r.schema}.${r.name}.${c.name}`]),
        )) {
          const m = merged.get(tag) ?? { confidence: 0, from: new Set<string>() };
          m.confidence = Math.max(m.confidence, e.confidence);
          for (const f of e.from) m.from.add(f);
          merged.set(tag, m);
        }
      }
      for (const [tag, m] of merged)
        if (!own.has(tag))
          inherited.push({
            classifier: 'lineage',
            tag,
            confidence: Math.round(m.confidence * 1000) / 1000,
            from: [...m.from].sort(),
          });
      const proposals: ColumnProposal[] = [...c.proposals, ...inherited].sort((a, b) => b.confidence - a.confidence);
      return { ...c, proposals };
    });
    return { ...r, columns };
  });
}
