/**
 * The rewriter asks a policy snapshot's decisionsFor() for one decider per statement, which
 * remembers its answer per relation (policies/decision-memo.ts). A remembered answer must always be
 * what decide() answers now for the same principal, purpose and relation: principals that differ
 * in any value decide() reads (user, groups, attributes, purpose), hour rules across an hour, a
 * relation described anew, a principal object changed in place, a wrapper that replaces decide().
 */
import { createPolicySnapshot } from '../../policies';
import type { PolicySnapshot, Principal, RelationRef } from '../../policies';
import { TagTaxonomy } from '../../policies/tag-taxonomy';
import { relationRef } from '../../rewriter/relation-refs';
import type { CatalogRelation } from '../../rewriter/catalog-types';

let clock = Date.parse('2026-12-01T10:30:00Z');
const snapshot = createPolicySnapshot(
  {
    dataProducts: [
      { name: 'shop', domain: 'sales', upstream: { host: 'h', port: 5432, database: 'shop', user: 'svc' } },
    ],
    globalPolicies: [
      {
        id: 'mask-email',
        unless: { group: 'stewards' },
        columns: [{ tags: ['pii.email'], action: { kind: 'mask_email' } }],
      },
      { id: 'hash-ssn', unless: { purpose: 'fraud' }, columns: [{ tags: ['pii.ssn'], action: { kind: 'hash' } }] },
      {
        id: 'office-hours',
        when: { not: { hours: { from: 8, to: 11 } } },
        columns: [{ columns: ['customers.phone'], action: { kind: 'null' } }],
      },
    ],
    domainPolicies: [
      {
        id: 'own-region',
        domain: 'sales',
        tables: ['customers'],
        unless: { attribute: 'clearance', equals: 'all' },
        rows: { column: 'region', in: { user: 'region' } },
      },
      {
        id: 'orders-of-user',
        domain: 'sales',
        tables: ['orders'],
        rows: { column: 'owner', equals: { user: 'name' } },
      },
    ],
    subscriptions: [{ dataProduct: 'shop', users: ['ana', 'bob'] }],
    taxonomy: new TagTaxonomy(new Set(['pii.email', 'pii.ssn'])),
  },
  'memo-1',
  () => new Date(clock),
);

function relation(oid: number, name: string, comments: Record<string, string> = {}): CatalogRelation {
  const columns = ['id', 'email', 'ssn', 'phone', 'region', 'owner'].map((c) => ({
    name: c,
    type: 'text',
    typeOid: 25,
    ...(comments[c] ? { comment: comments[c] } : {}),
  }));
  return { oid, schema: 'public', name, kind: 'r', columns, parents: [], dependsOn: [] };
}

const customers = relation(1, 'customers', { email: 'pgveil:tags=pii.email', ssn: 'pgveil:tags=pii.ssn' });
const orders = relation(2, 'orders');
const RELATIONS = [customers, orders];

const PRINCIPALS: Principal[] = [
  { user: 'ana', groups: [], attributes: { region: 'EU' } },
  { user: 'ana', groups: [], attributes: { region: ['EU', 'US'] } },
  { user: 'ana', groups: ['stewards'], attributes: { region: 'EU' } },
  { user: 'ana', groups: [], attributes: { region: 'EU', clearance: 'all' } },
  { user: 'ana', groups: [], attributes: { region: 'EU' }, purpose: 'fraud' },
  { user: 'ana', groups: [], attributes: {} },
  { user: 'bob', groups: [], attributes: { region: 'EU' } },
  // A time-limited grant in force is part of the attributes' values.
  {
    user: 'bob',
    groups: [],
    attributes: { region: ['EU', 'APAC'] },
    provenance: {
      attributes: { region: 'redis' },
      groups: {},
      grants: [{ attribute: 'region', value: 'APAC', expiresAt: clock + 60_000 }],
    },
  },
];

const decided = (policies: PolicySnapshot, p: Principal, purpose: string | undefined, r: RelationRef): unknown =>
  policies.decide(p, r, purpose);

test('every principal, purpose and relation gets what decide() answers, however the calls interleave', () => {
  for (let round = 0; round < 3; round++) {
    for (const principal of [...PRINCIPALS].reverse()) {
      for (const purpose of [undefined, 'fraud', 'audit']) {
        const decider = snapshot.decisionsFor!(principal, purpose)!;
        for (const r of RELATIONS) {
          const ref = relationRef(r, 'shop');
          expect(decider(ref)).toEqual(decided(snapshot, principal, purpose, ref));
        }
      }
    }
  }
});

test('answers differ where the inputs differ: the memo is keyed by every value decide() reads', () => {
  const ref = relationRef(customers, 'shop');
  const answers = PRINCIPALS.map((p) => JSON.stringify(snapshot.decisionsFor!(p, p.purpose)!(ref).decision));
  // Each principal above changes the customers decision (rows, a mask) from the one before it.
  expect(new Set(answers).size).toBe(PRINCIPALS.length - 1); // bob with region EU decides as ana with EU
  expect(answers[6]).toBe(answers[0]);
});

test('a remembered answer is the same object, frozen', () => {
  const ref = relationRef(customers, 'shop');
  const first = snapshot.decisionsFor!(PRINCIPALS[0]!, undefined)!(ref);
  const again = snapshot.decisionsFor!({ ...PRINCIPALS[0]!, attributes: { region: 'EU' } }, undefined)!(ref);
  expect(again).toBe(first);
  expect(Object.isFrozen(first.decision.columns)).toBe(true);
  expect(() => {
    (first.decision.columns as Record<string, unknown>).email = undefined;
  }).toThrow(TypeError);
});

test('an hour rule: the answer changes with the hour', () => {
  const ref = relationRef(customers, 'shop');
  const principal = PRINCIPALS[0]!;
  clock = Date.parse('2026-12-01T10:59:59Z');
  const before = snapshot.decisionsFor!(principal, undefined)!(ref);
  expect(before.decision.columns.phone).toBeUndefined();
  clock = Date.parse('2026-12-01T11:00:00Z');
  const after = snapshot.decisionsFor!(principal, undefined)!(ref);
  expect(after.decision.columns.phone?.action).toEqual({ kind: 'null' });
  expect(after).toEqual(snapshot.decide(principal, ref, undefined));
  clock = Date.parse('2026-12-01T10:30:00Z');
  expect(snapshot.decisionsFor!(principal, undefined)!(ref)).toBe(before);
});

test('a principal object changed in place, or a relation described by an object that is not frozen, is decided again', () => {
  const principal = { user: 'ana', groups: [] as string[], attributes: { region: 'EU' } as Record<string, string> };
  const ref = relationRef(customers, 'shop');
  expect(snapshot.decisionsFor!(principal, undefined)!(ref).decision.rows).toEqual({
    kind: 'filter',
    predicate: { op: 'in', column: 'region', values: ['EU'] },
  });
  principal.attributes.region = 'US';
  principal.groups.push('stewards');
  const now = snapshot.decisionsFor!(principal, undefined)!(ref);
  expect(now.decision.rows).toEqual({ kind: 'filter', predicate: { op: 'in', column: 'region', values: ['US'] } });
  expect(now.decision.columns.email).toBeUndefined();

  const open: {
    dataProduct: string;
    schema: string;
    name: string;
    columns: Array<{ name: string; type: string; comment?: string }>;
  } = { dataProduct: 'shop', schema: 'public', name: 'orders', columns: [{ name: 'email', type: 'text' }] };
  const decider = snapshot.decisionsFor!(PRINCIPALS[0]!, undefined)!;
  expect(decider(open).decision.columns.email).toBeUndefined();
  open.columns[0]!.comment = 'pgveil:tags=pii.email';
  expect(decider(open).decision.columns.email?.action).toEqual({ kind: 'mask_email' });
});

test('a copy of the snapshot with another decide() gets no decider; a copy with the same decide() does', () => {
  const replaced: PolicySnapshot = {
    ...snapshot,
    decide: () => snapshot.decide(PRINCIPALS[2]!, relationRef(orders, 'shop'), undefined),
  };
  expect(replaced.decisionsFor!(PRINCIPALS[0]!, undefined)).toBeUndefined();
  const ported: PolicySnapshot = { ...snapshot, subscription: () => ({ allowed: true, reasons: [] }) };
  expect(ported.decisionsFor!(PRINCIPALS[0]!, undefined)).toBeDefined();
});

test('a catalog relation is described once per data product, frozen', () => {
  const ref = relationRef(customers, 'shop');
  expect(relationRef(customers, 'shop')).toBe(ref);
  expect(Object.isFrozen(ref) && Object.isFrozen(ref.columns) && ref.columns.every((c) => Object.isFrozen(c))).toBe(
    true,
  );
  expect(ref.columns.find((c) => c.name === 'email')?.comment).toBe('pgveil:tags=pii.email');
  expect(relationRef(customers, 'other').dataProduct).toBe('other');
});
