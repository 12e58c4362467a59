/**
 * Tag writes spliced into the policy file's text, so that everything `--write` does not change keeps
 * its bytes: a re-printed YAML document reflows long lines, re-pads every flow list and folds long
 * quoted strings (a SCRAM verifier), which turns a reviewable one-column change into a diff of the
 * whole file. Only block mappings are edited in place; anything else (a flow mapping on the way,
 * an empty `tables:`) returns undefined and the caller re-prints the document instead.
 */
import { isMap, isScalar, isSeq, type Document, type Node, type Pair, type YAMLMap } from 'yaml';

interface ColumnWrite {
  readonly relation: string;
  readonly column: string;
  readonly tags: readonly string[];
}

interface Splice {
  readonly at: number;
  readonly end: number;
  readonly text: string;
}

const PLAIN = /^[A-Za-z_][A-Za-z0-9_.$-]*$/;
const key = (name: string): string => (PLAIN.test(name) ? name : JSON.stringify(name));
const flowList = (tags: readonly string[]): string => `[${tags.map(key).join(', ')}]`;

/** The column a node starts at (its indentation, for a key at the start of its line). */
function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/**
 * Where a node's own text ends. A block collection's range runs on over the blank lines after it, so
 * its end is that of its last entry's innermost value.
 */
function contentEnd(node: Node): number {
  if (isMap(node) && !node.flow && node.items.length > 0) {
    const last = node.items[node.items.length - 1] as Pair<Node, Node | null>;
    return contentEnd(last.value ?? last.key);
  }
  if (isSeq(node) && !node.flow && node.items.length > 0) return contentEnd(node.items[node.items.length - 1] as Node);
  return node.range![1];
}

/** The end of the line holding the last character of a block collection's last entry. */
function endOfLastEntry(text: string, collection: Node): number {
  const newline = text.indexOf('\n', contentEnd(collection));
  return newline < 0 ? text.length : newline;
}

/** A block mapping with at least one entry whose nodes carry their source ranges. */
function blockMap(node: unknown): YAMLMap | undefined {
  if (!isMap(node) || node.flow || node.items.length === 0) return undefined;
  const first = node.items[0]!.key as Node | null;
  return first?.range ? node : undefined;
}

/** Lines of `key: ...` blocks nested two spaces per level under `indent`. */
function block(indent: number, lines: ReadonlyArray<readonly [number, string]>): string {
  return lines.map(([depth, line]) => `\n${' '.repeat(indent + 2 * depth)}${line}`).join('');
}

function insertInto(text: string, map: YAMLMap, lines: ReadonlyArray<readonly [number, string]>): Splice {
  const at = endOfLastEntry(text, map);
  const indent = columnOf(text, (map.items[0]!.key as Node).range![0]);
  return { at, end: at, text: block(indent, lines) };
}

function columnLines(writes: readonly ColumnWrite[], depth: number): Array<[number, string]> {
  return writes.map((w) => [depth, `${key(w.column)}: ${flowList(w.tags)}`]);
}

function tableLines(byRelation: ReadonlyMap<string, ColumnWrite[]>, depth: number): Array<[number, string]> {
  return [...byRelation].flatMap(([relation, writes]): Array<[number, string]> => [
    [depth, `${key(relation)}:`],
    [depth + 1, 'columns:'],
    ...columnLines(writes, depth + 2),
  ]);
}

/** Splices for the column writes under one data product entry, or undefined when not in place. */
function columnSplices(text: string, entry: YAMLMap, writes: readonly ColumnWrite[]): Splice[] | undefined {
  const entryMap = blockMap(entry);
  if (!entryMap) return undefined;
  const byRelation = new Map<string, ColumnWrite[]>();
  for (const w of writes) byRelation.set(w.relation, [...(byRelation.get(w.relation) ?? []), w]);
  if (byRelation.size === 0) return [];
  if (!entryMap.has('tables')) return [insertInto(text, entryMap, [[0, 'tables:'], ...tableLines(byRelation, 1)])];
  const tables = blockMap(entryMap.get('tables', true));
  if (!tables) return undefined;
  const splices: Splice[] = [];
  const newTables = new Map<string, ColumnWrite[]>();
  for (const [relation, relationWrites] of byRelation) {
    if (!tables.has(relation)) {
      newTables.set(relation, relationWrites);
      continue;
    }
    const table = blockMap(tables.get(relation, true));
    if (!table) return undefined;
    if (!table.has('columns')) {
      splices.push(insertInto(text, table, [[0, 'columns:'], ...columnLines(relationWrites, 1)]));
      continue;
    }
    const columns = blockMap(table.get('columns', true));
    if (!columns) return undefined;
    const added: ColumnWrite[] = [];
    for (const w of relationWrites) {
      const value = columns.get(w.column, true) as Node | undefined;
      if (!columns.has(w.column)) added.push(w);
      else if (value?.range) splices.push({ at: value.range[0], end: value.range[1], text: flowList(w.tags) });
      else return undefined;
    }
    if (added.length > 0) splices.push(insertInto(text, columns, columnLines(added, 0)));
  }
  if (newTables.size > 0) splices.push(insertInto(text, tables, tableLines(newTables, 0)));
  return splices;
}

/** The splice adding tags to the top-level `tags:` list, flow or block, or undefined. */
function taxonomySplice(text: string, doc: Document, tags: readonly string[]): Splice | undefined {
  const list = doc.get('tags', true);
  if (!isSeq(list) || !list.range) return undefined;
  const present = new Set(list.items.map((i) => String(isScalar(i) ? i.value : i)));
  const missing = tags.filter((t) => !present.has(t));
  if (missing.length === 0) return { at: 0, end: 0, text: '' };
  if (list.flow) {
    const close = text.lastIndexOf(']', list.range[1]);
    if (close < list.range[0]) return undefined;
    const separator = list.items.length > 0 ? ', ' : '';
    return { at: close, end: close, text: `${separator}${missing.map(key).join(', ')}` };
  }
  const first = list.items[0] as Node | undefined;
  if (!isScalar(first) || !first.range || !list.items.every(isScalar)) return undefined;
  // A block sequence item's node starts after "- ": its dash is two columns to the left.
  const indent = columnOf(text, first.range[0]) - 2;
  const at = endOfLastEntry(text, list);
  return { at, end: at, text: missing.map((t) => `\n${' '.repeat(indent)}- ${key(t)}`).join('') };
}

/** The policy text with the writes (and taxonomy additions) spliced in, or undefined if not in place. */
export function spliceTagWrites(
  text: string,
  doc: Document,
  entry: YAMLMap,
  writes: readonly ColumnWrite[],
  declare: readonly string[],
): string | undefined {
  const splices = columnSplices(text, entry, writes);
  if (!splices) return undefined;
  if (declare.length > 0) {
    const tags = taxonomySplice(text, doc, declare);
    if (!tags) return undefined;
    splices.push(tags);
  }
  // From the end, so that earlier offsets stay right; two inserts at one offset keep their order.
  const ordered = splices.map((s, i) => ({ ...s, i })).sort((a, b) => b.at - a.at || b.i - a.i);
  let result = text;
  for (const s of ordered) result = `${result.slice(0, s.at)}${s.text}${result.slice(s.end)}`;
  return result;
}
