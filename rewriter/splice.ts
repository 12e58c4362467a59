/**
 * The rewritten statement as the analyst's own text with pgveil's changes spliced in at the
 * parser's token locations, instead of the whole tree printed again: a relation name becomes its
 * schema-qualified name or its derived table, a `schema.table.column` loses its schema. Only the
 * derived tables are printed. Text outside the edits (comments included) is kept byte for byte.
 *
 * Nothing here is trusted: every name is lexed at the location PostgreSQL's parser reported and
 * must spell what the parse tree holds (so a relation's name inside a string or a comment is never
 * touched), and rewrite.ts parses the spliced text again and sends it only when it reads back as
 * the very tree the rules were applied to. Whatever this cannot handle gives undefined, and the
 * statement is printed from its tree as before.
 */
import type { RangeSubselect } from '@pgsql/types';
import { bodyOf, stringOf, type PgNode } from './ast';
import { deparseStatement, parseTree, type Statement } from './sql-parser';
import { readsBackAsTree, sameTree } from './tree-equality';
import { parseToJson } from './read-back-parser';

/** A FROM item the substitution rewrote, as the analyst wrote it. */
export interface RelationEdit {
  readonly kind: 'relation';
  /** The parser's location of the relation's name, in UTF-8 bytes of the whole message. */
  readonly location: number;
  /** Name parts as written (catalog, schema, relation; the ones given). */
  readonly parts: readonly string[];
  /** `ONLY name`: the keyword goes with the name. */
  readonly only: boolean;
  readonly alias: { readonly aliasname: string; readonly colnames: readonly string[] } | undefined;
  /** What stands there now: the qualified {RangeVar} or a {RangeSubselect}. Printed when spliced, after finish(). */
  readonly result: PgNode;
}

/** A column reference that lost its leading parts (`db.schema.table.column`, `schema.table.column`). */
interface ColumnEdit {
  readonly kind: 'column';
  readonly location: number;
  /** Fields as written (`*` for A_Star). */
  readonly fields: readonly string[];
  readonly dropped: number;
}

export type SpliceEdit = RelationEdit | ColumnEdit;

/**
 * The query `parsed` (out of `sql`, its whole message) as its own text with the edits spliced in,
 * when that text reads back as exactly the substituted tree `parsed.stmt`; otherwise undefined.
 * A derived table is the deparser's text, as on the printer path: it must read back as that text
 * does on its own (the deparser spells a few nodes its own way, `pg_catalog.text` as `text`), and
 * everything around it as the substituted tree.
 *
 * The comparison reads the read-back's JSON text against the substituted tree, positions aside
 * (readsBackAsTree, tree-equality.ts), which needs no second JSON.parse; when they differ (a node
 * the rewriter built with its fields in another order than libpg-query's) the trees are compared
 * field by field before the splice is given up.
 */
export function splicedQuery(sql: string, parsed: Statement, edits: readonly SpliceEdit[]): string | undefined {
  const result = splice(sql, parsed.location, parsed.length === 0 ? undefined : parsed.location + parsed.length, edits);
  if (result === undefined) return undefined;
  const json = parseToJson(result.text);
  if (json === undefined) return undefined;
  const intended = { stmt: parsed.stmt };
  return withDerivedAsRead(result.derived, () => {
    if (readsBackAsTree(json, intended.stmt)) return result.text;
    const again = (JSON.parse(json) as { stmts?: Array<{ stmt?: unknown }> }).stmts ?? [];
    return again.length === 1 && sameTree(again[0]!.stmt, intended.stmt) ? result.text : undefined;
  });
}

/** Runs `compare` with each derived table's query, in the substituted tree, as its printed text reads. */
function withDerivedAsRead<T>(derived: readonly Derived[], compare: () => T | undefined): T | undefined {
  const queries: PgNode[] = [];
  for (const d of derived) {
    const read = printedAsRead(d.printed);
    if (read === undefined) return undefined;
    queries.push(read);
  }
  derived.forEach((d, i) => (d.holder.subquery = queries[i]));
  try {
    return compare();
  } finally {
    for (const d of derived) d.holder.subquery = d.query;
  }
}

/**
 * A derived table's printed text, parsed: the same relation under the same decision prints the
 * same text in statement after statement, and a parse depends on nothing but the text. The trees
 * are only read (compared, serialized), never changed. Bounded: the oldest entry goes first.
 */
const parsedDerived = new Map<string, PgNode | null>();
const PARSED_DERIVED_MAX = 512;

function printedAsRead(printed: string): PgNode | undefined {
  let read = parsedDerived.get(printed);
  if (read === undefined) {
    const statements = parseTree(printed);
    read = statements.length === 1 ? statements[0]!.stmt : null;
    if (parsedDerived.size >= PARSED_DERIVED_MAX) parsedDerived.delete(parsedDerived.keys().next().value!);
    parsedDerived.set(printed, read);
  }
  return read ?? undefined;
}

interface Derived {
  /** The RangeSubselect that holds it. */
  readonly holder: RangeSubselect;
  readonly query: PgNode | undefined;
  readonly printed: string;
}

interface Spliced {
  readonly text: string;
  readonly derived: readonly Derived[];
}

/**
 * The statement text `[start, end)` of `sql` (UTF-8 byte offsets) with the edits applied, or
 * undefined when an edit's text is not where and what the tree says.
 */
function splice(
  sql: string,
  start: number,
  end: number | undefined,
  edits: readonly SpliceEdit[],
): Spliced | undefined {
  const derived: Derived[] = [];
  const ascii = isAscii(sql);
  const bytes = ascii ? undefined : Buffer.from(sql, 'utf8');
  // Offsets below are bytes; on ASCII text they are also string indices.
  const text = ascii ? sql : bytes!.toString('latin1');
  const stop = end ?? text.length;
  // Names from the tree, spelled as they appear in `text`.
  const asText = ascii
    ? (name: string): string => name
    : (name: string): string => Buffer.from(name, 'utf8').toString('latin1');
  const sorted = [...edits].sort((a, b) => a.location - b.location);
  const out: string[] = [];
  let at = start;
  for (const edit of sorted) {
    const replaced =
      edit.kind === 'relation' ? relationSpan(text, edit, asText, derived) : columnSpan(text, edit, asText);
    if (!replaced || replaced.from < at || replaced.to > stop) return undefined;
    out.push(piece(text, bytes, at, replaced.from), replaced.text);
    at = replaced.to;
  }
  out.push(piece(text, bytes, at, stop));
  return { text: out.join(''), derived };
}

const isAscii = (s: string): boolean => !/[\u0080-\uffff]/.test(s);

/** Analyst text between edits, decoded from UTF-8 when the message is not ASCII. */
function piece(text: string, bytes: Buffer | undefined, from: number, to: number): string {
  return bytes ? bytes.toString('utf8', from, to) : text.slice(from, to);
}

interface Span {
  readonly from: number;
  readonly to: number;
  readonly text: string;
}

function relationSpan(
  text: string,
  edit: RelationEdit,
  asText: (name: string) => string,
  derived: Derived[],
): Span | undefined {
  const result = edit.result;
  const name = qualifiedName(text, edit.location);
  if (!name || !sameParts(name.parts, edit.parts.map(asText))) return undefined;
  let from = edit.location;
  const rv = bodyOf(result, 'RangeVar');
  const subselect = bodyOf(result, 'RangeSubselect');
  if (edit.only && subselect) {
    const keyword = /only[ \t\n\r\f\v]*$/i.exec(text.slice(Math.max(0, from - 64), from));
    if (!keyword) return undefined;
    from -= keyword[0].length;
    if (from > 0 && /[\w$\x80-\xff]/.test(text[from - 1]!)) return undefined;
  }
  if (rv) {
    // Qualified in place: ONLY, an alias, TABLESAMPLE stay as written.
    if (rv.catalogname !== undefined) return undefined;
    return { from: edit.location, to: name.end, text: `${quote(String(rv.schemaname))}.${quote(String(rv.relname))}` };
  }
  if (!subselect) return undefined;
  let to = name.end;
  if (edit.alias) {
    const alias = aliasAt(text, to);
    if (
      !alias ||
      alias.name !== asText(edit.alias.aliasname) ||
      !sameParts(alias.colnames, edit.alias.colnames.map(asText))
    )
      return undefined;
    to = alias.end;
  }
  const written = subselect.alias!;
  const colnames = (written.colnames ?? []).map((c) => quote(String(stringOf(c))));
  const printedAlias = `${quote(String(written.aliasname))}${colnames.length > 0 ? `(${colnames.join(', ')})` : ''}`;
  const printed = deparseStatement(subselect.subquery!);
  derived.push({ holder: subselect, query: subselect.subquery, printed });
  return { from, to, text: `(${printed}) AS ${printedAlias}` };
}

function columnSpan(text: string, edit: ColumnEdit, asText: (name: string) => string): Span | undefined {
  const name = qualifiedName(text, edit.location);
  if (!name || !sameParts(name.parts, edit.fields.map(asText)) || edit.dropped >= name.starts.length) return undefined;
  return { from: edit.location, to: name.starts[edit.dropped]!, text: '' };
}

const sameParts = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((p, i) => p === b[i]);

/**
 * Quoted unless plainly lower case. A keyword left bare does not parse, or parses as something
 * else: the read-back then refuses the splice and the statement is printed.
 */
const quote = (name: string): string => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

/** Letters, `_` and any byte of a multibyte character start an identifier; digits and `$` continue one. */
const identStart = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
const identChar = (c: number): boolean => identStart(c) || (c >= 48 && c <= 57) || c === 36;

/**
 * An identifier at `at` as PostgreSQL's scanner reads it: unquoted ones fold ASCII letters to
 * lower case, quoted ones keep their text with `""` for a quote. Text is latin1-decoded UTF-8, so
 * non-ASCII letters compare as their bytes; such names are compared as bytes on both sides.
 */
function identifier(text: string, at: number): { name: string; end: number } | undefined {
  if (text.charCodeAt(at) === 34) {
    let name = '';
    let i = at + 1;
    for (;;) {
      const close = text.indexOf('"', i);
      if (close < 0) return undefined;
      name += text.slice(i, close);
      if (text.charCodeAt(close + 1) === 34) {
        name += '"';
        i = close + 2;
        continue;
      }
      return { name, end: close + 1 };
    }
  }
  if (at >= text.length || !identStart(text.charCodeAt(at))) return undefined;
  let end = at + 1;
  while (end < text.length && identChar(text.charCodeAt(end))) end++;
  const word = text.slice(at, end);
  return { name: /[A-Z]/.test(word) ? asciiLower(word) : word, end };
}

/** PostgreSQL folds only ASCII letters of an unquoted identifier. */
const asciiLower = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/** `a.b.c` (or `a.*`) at `at`, with only white space around the dots; where each part starts. */
function qualifiedName(text: string, at: number): { parts: string[]; starts: number[]; end: number } | undefined {
  const parts: string[] = [];
  const starts: number[] = [];
  let i = at;
  for (;;) {
    starts.push(i);
    if (text[i] === '*') {
      parts.push('*');
      return { parts, starts, end: i + 1 };
    }
    const part = identifier(text, i);
    if (!part) return undefined;
    parts.push(part.name);
    let j = skipSpace(text, part.end);
    if (text[j] !== '.') return { parts, starts, end: part.end };
    j = skipSpace(text, j + 1);
    i = j;
  }
}

/**
 * PostgreSQL's white space (space, \t, \n, \v, \f, \r); not \s, which takes the byte 0xa0 of a
 * UTF-8 sequence for a space.
 */
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

const skipSpace = (text: string, at: number): number => {
  let i = at;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
};

/** `[AS] alias [(col, ...)]` after a relation name; undefined on anything else (comments included). */
function aliasAt(text: string, at: number): { name: string; colnames: string[]; end: number } | undefined {
  let i = skipSpace(text, at);
  const as = /^as(?![\w$\x80-\xff])/i.exec(text.slice(i, i + 3));
  if (as) i = skipSpace(text, i + 2);
  const alias = identifier(text, i);
  if (!alias) return undefined;
  const colnames: string[] = [];
  let end = alias.end;
  let j = skipSpace(text, end);
  if (text[j] === '(') {
    for (;;) {
      j = skipSpace(text, j + 1);
      const column = identifier(text, j);
      if (!column) return undefined;
      colnames.push(column.name);
      j = skipSpace(text, column.end);
      if (text[j] === ')') {
        end = j + 1;
        break;
      }
      if (text[j] !== ',') return undefined;
    }
  }
  return { name: alias.name, colnames, end };
}
