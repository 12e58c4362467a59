/**
 * `pgveil discover --write`: the accepted tags of a report, in the form the policy engine reads.
 *
 * Design: tags go into the policy file that declares the data product, under
 * `dataProducts[].tables."schema.table".columns` (the file stays the one source of truth, reviewed
 * like any policy change, and the running pgveil reloads it). The YAML is edited as a document, so
 * comments and layout stay. Every tag written must be in the tag taxonomy: with `declareTags` the
 * missing ones are added to the same file's top-level `tags:`, otherwise the columns needing them
 * are left out and the tags listed. The new text is loaded by the policy engine before it is
 * written; if it would not load, nothing is written. `COMMENT ON COLUMN` statements are the other
 * form, printed for a data owner who keeps tags in the database.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isSeq, parse, parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { buildPolicyBundle, readPolicySources } from '../policies';
import type { TagTaxonomy } from '../policies';
import { ValidationError } from '../policies';
import { newTags, type DiscoveryReport } from './discovery-report';
import { spliceTagWrites } from './splice-policy-text';

interface TagWrite {
  readonly relation: string;
  readonly column: string;
  /** Tags the column ends up with in the policy file. */
  readonly tags: readonly string[];
}

export interface TagPlan {
  readonly writes: readonly TagWrite[];
  /** Columns left alone because they carry tags already (`overwrite` replaces the file's tags). */
  readonly alreadyTagged: readonly string[];
  /** Tags proposed that the taxonomy does not declare, and the columns that need them. */
  readonly undeclared: ReadonlyMap<string, readonly string[]>;
  /**
   * Plain views with proposals: never written, as pgveil protects a view through the relations it
   * reads, and a tag on the view too would mask twice (docs/policies.md): tag the base columns.
   */
  readonly views?: readonly string[];
}

export function planTagWrites(
  reports: readonly DiscoveryReport[],
  product: string,
  taxonomy: TagTaxonomy,
  options: { minConfidence: number; overwrite: boolean; declareTags: boolean },
): TagPlan {
  const writes: TagWrite[] = [];
  const alreadyTagged: string[] = [];
  const undeclared = new Map<string, string[]>();
  const views: string[] = [];
  for (const report of reports.filter((r) => r.dataProduct === product)) {
    for (const relation of report.relations) {
      if (relation.kind === 'v') {
        if (relation.columns.some((c) => newTags(c).length > 0)) views.push(`${relation.schema}.${relation.name}`);
        continue;
      }
      for (const column of relation.columns) {
        const where = `${relation.schema}.${relation.name}.${column.name}`;
        const accepted = (options.overwrite ? column.proposals : newTags(column))
          .filter((p) => p.confidence >= options.minConfidence)
          .map((p) => p.tag);
        if (accepted.length === 0) continue;
        if (column.tags.length > 0 && !options.overwrite) {
          alreadyTagged.push(where);
          continue;
        }
        const missing = [...new Set(accepted)].filter((t) => !taxonomy.knows(t));
        for (const t of missing) undeclared.set(t, [...(undeclared.get(t) ?? []), where]);
        if (missing.length > 0 && !options.declareTags) continue;
        writes.push({
          relation: `${relation.schema}.${relation.name}`,
          column: column.name,
          tags: [...new Set(accepted)].sort(),
        });
      }
    }
  }
  return { writes, alreadyTagged, undeclared, views };
}

/**
 * The policy file's text with the plan's tags written into `product`'s entry, or undefined when it
 * does not declare `product`. The writes are spliced into the text where the file is in block style
 * (every other byte stays); otherwise the document is printed again. Either way the result must read
 * back as the document with the writes, or the re-printed one is used.
 */
export function editPolicyText(text: string, product: string, plan: TagPlan, declareTags: boolean): string | undefined {
  const doc = parseDocument(text);
  const products = doc.get('dataProducts');
  if (!isSeq(products)) return undefined;
  const entry = products.items.find((p): p is YAMLMap => isMap(p) && p.get('name') === product);
  if (!entry) return undefined;
  const declare = declareTags ? [...plan.undeclared.keys()] : [];
  const spliced = spliceTagWrites(text, doc, entry, plan.writes, declare);
  const reprinted = reprintWithWrites(text, product, plan, declare);
  if (spliced !== undefined && isDeepStrictEqual(parse(spliced), parse(reprinted))) return spliced;
  return reprinted;
}

/** The whole document printed again with the writes: the fallback for what is not spliced in place. */
function reprintWithWrites(text: string, product: string, plan: TagPlan, declare: readonly string[]): string {
  const doc = parseDocument(text);
  const entry = (doc.get('dataProducts') as YAMLSeq).items.find(
    (p): p is YAMLMap => isMap(p) && p.get('name') === product,
  )!;
  for (const w of plan.writes) {
    if (!entry.has('tables')) entry.set('tables', doc.createNode({}));
    const tables = entry.get('tables') as YAMLMap;
    if (!tables.has(w.relation)) tables.set(w.relation, doc.createNode({ columns: {} }));
    const table = tables.get(w.relation) as YAMLMap;
    if (!table.has('columns')) table.set('columns', doc.createNode({}));
    const columns = table.get('columns') as YAMLMap;
    const node = doc.createNode([...w.tags]);
    node.flow = true;
    columns.set(w.column, node);
  }
  if (declare.length > 0) addToTaxonomy(doc, declare);
  // No folding: a long line (a SCRAM verifier, the taxonomy) is kept on one line.
  return doc.toString({ lineWidth: 0 });
}

function addToTaxonomy(doc: Document, tags: readonly string[]): void {
  if (!doc.has('tags')) {
    const node = doc.createNode([]);
    node.flow = true;
    doc.set('tags', node);
  }
  const list = doc.get('tags');
  if (!isSeq(list)) throw new ValidationError('the top-level "tags:" of the policy file is not a list');
  const present = new Set(list.items.map((i) => String((i as { value?: unknown }).value ?? i)));
  for (const t of tags) if (!present.has(t)) list.add(t);
}

/**
 * Writes the plan into the file declaring the product, after the policy engine has loaded the
 * whole new set (all configured files, this one edited). Returns the file written.
 */
export function writeTagPlan(
  policyPaths: readonly string[],
  product: string,
  plan: TagPlan,
  declareTags: boolean,
): string {
  const sources = readPolicySources(policyPaths);
  const index = sources.findIndex(
    (s) =>
      editPolicyText(s.text, product, { writes: [], alreadyTagged: [], undeclared: new Map() }, false) !== undefined,
  );
  if (index < 0) throw new ValidationError(`no policy file declares data product "${product}"`);
  const edited = editPolicyText(sources[index]!.text, product, plan, declareTags)!;
  const next = sources.map((s, i) => (i === index ? { path: s.path, text: edited } : s));
  try {
    buildPolicyBundle(next);
  } catch (error) {
    throw new ValidationError(
      `the tags were not written: the policy files would not load with them: ${(error as Error).message}`,
    );
  }
  const path = sources[index]!.path;
  // Written whole and renamed: the policy watcher never reads half a file.
  const temporary = `${path}.pgveil-discover.tmp`;
  writeFileSync(temporary, edited);
  renameSync(temporary, path);
  return path;
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** `COMMENT ON COLUMN` statements that set each column's `pgveil:tags=` and keep the rest of its comment. */
export function commentStatements(plan: TagPlan, comments: ReadonlyMap<string, string | undefined>): string[] {
  return plan.writes.map((w) => {
    const [schema, ...rest] = w.relation.split('.');
    const key = `${w.relation}.${w.column}`;
    const old = comments.get(key) ?? '';
    const marker = `pgveil:tags=${w.tags.join(',')}`;
    const comment = /pgveil:tags=[a-z0-9_.,]+/.test(old)
      ? old.replace(/pgveil:tags=[a-z0-9_.,]+/, marker)
      : [old.trim(), marker].filter((s) => s.length > 0).join(' ');
    return `COMMENT ON COLUMN ${quoteIdent(schema!)}.${quoteIdent(rest.join('.'))}.${quoteIdent(w.column)} IS ${quoteLiteral(comment)};`;
  });
}
