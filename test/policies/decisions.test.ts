/** Table-driven decide() and subscription cases (cases/decisions.json over cases/governance.yaml). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicyFiles } from '../../policies';
import type { RelationRef, RowAction, RowPredicate } from '../../policies/decision';
import type { Principal } from '../../policies/principal';

const FIXTURE = join(__dirname, 'cases/governance.yaml');
const DEFAULT_TIME = '2026-11-23T10:00:00Z';

/** The relations the cases ask about, with column comments as a data product would carry them. */
const RELATIONS: Record<string, Array<[string, string?]>> = {
  'sales:public.customers': [
    ['id'],
    ['name'],
    ['email', 'pgveil:tags=pii.email'],
    ['ssn', 'Social security number. pgveil:tags=pii.ssn'],
    ['region'],
    ['notes'],
    ['card', 'pgveil:tags=finance.card'],
    ['api_key', 'pgveil:tags=secret.key'],
  ],
  'sales:public.orders': [['id'], ['team'], ['ip_address'], ['amount']],
  'sales:public.regions': [['id'], ['label']],
  'sales:public.keys': [
    ['secret', 'pgveil:tags=secret'],
    ['owner', 'pgveil:tags=pii.owner'],
  ],
  'sales:public.contacts': [
    ['work_email', 'pgveil:tags=pii.email.work'],
    ['pii_like', 'pgveil:tags=pii'],
  ],
  'sales:public.lookalikes': [['x', 'pgveil:tags=piix']],
  'sales:public.multi': [['both', 'pgveil:tags=pii.email,secret.x']],
  'hr:public.employees': [['id'], ['name', 'pgveil:tags=pii.name'], ['salary']],
};

interface DecisionCase {
  name: string;
  principal: Principal;
  at?: string;
  relation?: string;
  subscription?: string;
  expect: {
    columns?: Record<string, string>;
    rows?: 'all' | 'none' | RowPredicate;
    rules?: Record<string, string[]>;
    allowed?: boolean;
  };
}

const cases = JSON.parse(readFileSync(join(__dirname, 'cases/decisions.json'), 'utf8')) as DecisionCase[];

function relationRef(key: string): RelationRef {
  const [dataProduct = '', qualified = ''] = key.split(':');
  const [schema = '', name = ''] = qualified.split('.');
  return {
    dataProduct,
    schema,
    name,
    columns: RELATIONS[key]!.map(([column, comment]) => ({
      name: column,
      type: 'text',
      ...(comment ? { comment } : {}),
    })),
  };
}

test('there are at least 50 cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(50);
});

test.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  const snapshot = loadPolicyFiles([FIXTURE], () => new Date(c.at ?? DEFAULT_TIME)).snapshot;
  if (c.subscription) {
    expect(snapshot.subscription(c.principal, c.subscription).allowed).toBe(c.expect.allowed);
    return;
  }
  const relation = relationRef(c.relation!);
  const result = snapshot.decide(c.principal, relation, c.principal.purpose);
  expect(result.errors).toEqual([]);
  const actual = Object.fromEntries(
    relation.columns
      .map((col) => [col.name, result.decision.columns[col.name]?.action.kind ?? 'allow'] as const)
      .filter(([, kind]) => kind !== 'allow'),
  );
  expect(actual).toEqual(c.expect.columns);
  const expectedRows: RowAction =
    c.expect.rows === 'all'
      ? { kind: 'all' }
      : c.expect.rows === 'none'
        ? { kind: 'none' }
        : { kind: 'filter', predicate: c.expect.rows! };
  expect(result.decision.rows).toEqual(expectedRows);
  for (const [column, rules] of Object.entries(c.expect.rules ?? {})) {
    if (column === 'rows') expect(result.decision.rowRules).toEqual(rules);
    else expect(result.decision.columns[column]?.rules).toEqual(rules);
  }
});

test('decide() never throws: a broken relation becomes an error, not an exception', () => {
  const snapshot = loadPolicyFiles([FIXTURE]).snapshot;
  const result = snapshot.decide(
    { user: 'x', groups: [], attributes: {} },
    { dataProduct: 'sales', schema: 'public', name: 'customers', columns: null as never },
    undefined,
  );
  expect(result.errors).toHaveLength(1);
  expect(result.decision.access).toBe('deny');
});
