/**
 * Where each rule and data product of the running policy version is written: file and line. Read
 * from the files on disk, and only while they still hold the running version (a file edited since,
 * or an invalid edit the store refused, would point at the wrong line): otherwise no line is shown.
 * Computed once per version.
 */
import { isMap, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { policyVersionOf, readPolicySources } from '../policies';

interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

export interface PolicyLocations {
  readonly version: string;
  readonly rules: ReadonlyMap<string, SourceLocation>;
  readonly dataProducts: ReadonlyMap<string, SourceLocation>;
}

let cached: PolicyLocations | undefined;

export function policyLocations(paths: readonly string[], version: string): PolicyLocations {
  if (cached?.version === version) return cached;
  const rules = new Map<string, SourceLocation>();
  const dataProducts = new Map<string, SourceLocation>();
  let sources;
  try {
    sources = readPolicySources(paths);
  } catch {
    return { version, rules, dataProducts };
  }
  // Not cached: the files may yet come back to the running version, or the store reload to them.
  if (policyVersionOf(sources) !== version) return { version, rules, dataProducts };
  for (const { path, text } of sources) {
    const doc = parseDocument(text);
    const lineAt = (node: YamlNode): number => text.slice(0, node.range?.[0] ?? 0).split('\n').length;
    const items = (key: string): unknown[] => {
      const seq = doc.get(key, true);
      return isSeq(seq) ? seq.items : [];
    };
    for (const key of ['globalPolicies', 'domainPolicies']) {
      for (const item of items(key)) {
        if (!isMap(item)) continue;
        const id = item.get('id');
        if (typeof id === 'string' && !rules.has(id)) rules.set(id, { file: path, line: lineAt(item) });
      }
    }
    for (const item of items('dataProducts')) {
      if (!isMap(item)) continue;
      const name = item.get('name');
      if (typeof name === 'string' && !dataProducts.has(name))
        dataProducts.set(name, { file: path, line: lineAt(item) });
    }
  }
  cached = { version, rules, dataProducts };
  return cached;
}
