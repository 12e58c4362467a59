/**
 * `pgveil policy test FILE`: policy authors' own cases, run in their CI. A file names the policy
 * files, the relations (columns and their comments) and cases: principal + relation -> expected
 * column actions and rows. Cases over SQL need the rewriter and live in `pgveil explain` for now.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadPolicyFiles } from './policy-loader';
import type { RelationRef } from './decision';
import { compileSchema, parseValidatedYaml } from './yaml-validation';
import schema from './policy-test-schema.json';

/** A policy test file as validated by policy-test-schema.json (groups and attributes default to empty). */
export interface PolicyTestFile {
  readonly policies: readonly string[];
  /** `dataProduct:schema.table` -> column -> its comment, or null. */
  readonly relations: Readonly<Record<string, Readonly<Record<string, string | null>>>>;
  readonly cases: ReadonlyArray<{
    readonly name: string;
    readonly principal: {
      readonly user: string;
      readonly groups: readonly string[];
      readonly attributes: Readonly<Record<string, string | readonly string[]>>;
      readonly purpose?: string;
    };
    /** ISO 8601: the time the case is decided at. */
    readonly at?: string;
    readonly relation: string;
    readonly expect: {
      readonly columns?: Readonly<Record<string, string>>;
      readonly rows?: 'all' | 'none' | 'filtered';
    };
  }>;
}

const validate = compileSchema<PolicyTestFile>(schema);

export interface PolicyTestResult {
  readonly name: string;
  readonly passed: boolean;
  readonly problems: readonly string[];
}

export function runPolicyTests(file: string): PolicyTestResult[] {
  const path = resolve(file);
  const spec = parseValidatedYaml(path, readFileSync(path, 'utf8'), validate);
  const paths = spec.policies.map((p) => resolve(dirname(path), p));
  return spec.cases.map((c) => {
    const snapshot = loadPolicyFiles(paths, c.at ? () => new Date(c.at!) : undefined).snapshot;
    const [dataProduct = '', qualified = ''] = c.relation.split(':');
    const [schema = '', name = ''] = qualified.split('.');
    const columns = spec.relations[c.relation];
    const problems: string[] = [];
    if (!columns)
      return { name: c.name, passed: false, problems: [`relation "${c.relation}" is not declared under relations`] };
    const relation: RelationRef = {
      dataProduct,
      schema,
      name,
      columns: Object.entries(columns).map(([n, comment]) => ({
        name: n,
        type: 'text',
        ...(comment ? { comment } : {}),
      })),
    };
    const result = snapshot.decide(c.principal, relation, c.principal.purpose);
    problems.push(...result.errors);
    for (const [column, expected] of Object.entries(c.expect.columns ?? {})) {
      const actual = result.decision.columns[column]?.action.kind ?? 'allow';
      if (actual !== expected) problems.push(`column ${column}: expected ${expected}, got ${actual}`);
    }
    if (c.expect.rows) {
      const kind = result.decision.rows.kind;
      const actual = kind === 'filter' ? 'filtered' : kind;
      if (actual !== c.expect.rows) problems.push(`rows: expected ${c.expect.rows}, got ${actual}`);
    }
    return { name: c.name, passed: problems.length === 0, problems };
  });
}
