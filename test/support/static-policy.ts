/** A PolicySnapshot from a plain table of decisions: a fixture for rewriter tests, not a policy engine. */
import type { ColumnAction, PolicySnapshot, RelationDecision, RowAction } from '../../policies/decision';

export interface StaticRelationPolicy {
  readonly columns?: Readonly<Record<string, ColumnAction>>;
  readonly rows?: RowAction;
  readonly access?: 'allow' | 'deny';
}

export function staticPolicy(
  table: Readonly<Record<string, StaticRelationPolicy>>,
  version = 'static-1',
  subscribed = true,
): PolicySnapshot {
  return {
    version,
    decide: (_principal, relation) => {
      const entry = table[`${relation.schema}.${relation.name}`];
      const decision: RelationDecision = {
        access: entry?.access ?? 'allow',
        columns: Object.fromEntries(
          Object.entries(entry?.columns ?? {}).map(([name, action]) => [
            name,
            { action, rules: [`static:${relation.name}.${name}`] },
          ]),
        ),
        rows: entry?.rows ?? { kind: 'all' },
        rowRules: entry?.rows ? [`static:${relation.name}:rows`] : [],
      };
      const reasons = Object.keys(entry?.columns ?? {}).map((column) => ({
        ruleId: `static:${relation.name}.${column}`,
        scope: 'global' as const,
        column,
        effect: 'test',
      }));
      return { decision, reasons, errors: [] };
    },
    subscription: () => ({ allowed: subscribed, reasons: [] }),
  };
}

/** The demo's analyst view of the world: EU rows only, PII masked. */
export const analystPolicy = staticPolicy({
  'public.customers': {
    columns: {
      email: { kind: 'mask_email' },
      ssn: { kind: 'hash' },
      phone: { kind: 'mask', keepFirst: 0, keepLast: 4, maskChar: '*' },
      birth_date: { kind: 'truncate_date', unit: 'year' },
    },
    rows: { kind: 'filter', predicate: { op: 'in', column: 'region', values: ['EU'] } },
  },
  'public.orders': { columns: { card_number: { kind: 'mask', keepFirst: 0, keepLast: 4, maskChar: '*' } } },
  // Relations of test/support/view-fixtures.ts, tagged as their comments say.
  'public.visits': { columns: { visitor_email: { kind: 'mask_email' } } },
  'public.customer_ssn_copy': { columns: { ssn: { kind: 'hash' } } },
});
