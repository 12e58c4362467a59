/**
 * Which column names a statement's text refers to, for "masked-column reads": a statement that reads
 * a protected relation counts for the masked columns it names, not for every masked column of the
 * relation. `*`, a name that is no column (a whole-row reference such as `row_to_json(c)`) or a
 * text the parser refuses counts as every column.
 */
import { parseSync } from 'libpg-query';

export type ReferencedColumns = ReadonlySet<string> | 'all';

export function referencedColumns(sql: string, columnNames: ReadonlySet<string>): ReferencedColumns {
  let tree: unknown;
  try {
    tree = parseSync(sql);
  } catch {
    return 'all';
  }
  const names = new Set<string>();
  let all = false;
  const walk = (node: unknown): void => {
    if (all || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    const ref = (node as { ColumnRef?: { fields?: unknown[] } }).ColumnRef;
    if (ref) {
      const last = ref.fields?.[ref.fields.length - 1] as { String?: { sval?: string }; A_Star?: unknown } | undefined;
      const name = last?.String?.sval;
      if (last?.A_Star !== undefined || name === undefined || !columnNames.has(name)) all = true;
      else names.add(name);
      return;
    }
    for (const value of Object.values(node)) walk(value);
  };
  walk(tree);
  return all ? 'all' : names;
}
