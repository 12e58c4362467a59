/**
 * `pgveil policy test FILE`: policy authors' own cases, run in their CI. A file names the policy
 * files, the relations (columns and their comments) and cases: principal + relation -> expected
 * column actions and rows. Cases over SQL need the rewriter and live in `pgveil explain` for now.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadPolicyFiles } from './policy-loader';
import type { RelationRef } from './decision';
import type { Principal } from './principal';
import { compileSchema, parseValidatedYaml } from './yaml-validation';

interface PolicyTestFile {
  policies: string[];
  relations: Record<string, Record<string, string | null>>;
  cases: Array<{
    name: string;
    principal: Principal;
    at?: string;
    relation: string;
    expect: { columns?: Record<string, string>; rows?: 'all' | 'none' | 'filtered' };
  }>;
}

const validate = compileSchema<PolicyTestFile>({
  type: 'object',
  additionalProperties: false,
  required: ['policies', 'relations', 'cases'],
  properties: {
    policies: { type: 'array', items: { type: 'string' }, minItems: 1 },
    relations: {
      type: 'object',
      additionalProperties: { type: 'object', additionalProperties: { type: ['string', 'null'] } },
    },
    cases: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'principal', 'relation', 'expect'],
        properties: {
          name: { type: 'string' },
          at: { type: 'string' },
          relation: { type: 'string', pattern: '^[^:]+:[^.]+\\.[^.]+$' },
          principal: {
            type: 'object',
            required: ['user'],
            properties: {
              user: { type: 'string' },
              groups: { type: 'array', default: [] },
              attributes: { type: 'object', default: {} },
              purpose: { type: 'string' },
            },
          },
          expect: {
            type: 'object',
            additionalProperties: false,
            properties: { columns: { type: 'object' }, rows: { enum: ['all', 'none', 'filtered'] } },
          },
        },
      },
    },
  },
});

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
