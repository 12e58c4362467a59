/** Output ports in policy files: the schema and the load-time checks refuse what cannot work. */
import { buildPolicyBundle } from '../../policies/policy-loader';

const base = (ports: string): string => `unrestricted: true
dataProducts:
  - name: sales
    domain: sales
    upstream: { host: 127.0.0.1, port: 5432, database: sales, user: svc }
    ports:
${ports}
  - name: other
    domain: sales
    upstream: { host: 127.0.0.1, port: 5432, database: other, user: svc }
`;
const external = (over: Record<string, string> = {}): string => `      - name: ${over.name ?? 'sales_external'}
        kind: external
        subscribers: { users: [partner] }
        epsilonPerAnswer: ${over.epsilon ?? '0.5'}
        budget: { epsilon: ${over.budget ?? '2'}, period: day }
        relations:
          public.orders:
            privacyUnit: customer_id
            maxRowsPerUnit: 3
            dimensions: { status: [placed, shipped] }
            measures: { amount: { lower: ${over.lower ?? '0'}, upper: 1000 } }`;
const load = (text: string) => buildPolicyBundle([{ path: '/policies/p.yaml', text }]);

test('an external port loads, and a data product without ports is unchanged', () => {
  const bundle = load(base(external()));
  expect(bundle.dataProducts.get('sales')!.ports![0]).toMatchObject({
    name: 'sales_external',
    kind: 'external',
    epsilonPerAnswer: 0.5,
  });
  expect(bundle.dataProducts.get('other')!.ports).toBeUndefined();
});

test.each([
  [
    'a port named like a data product',
    external({ name: 'other' }),
    'data product "sales" port "other": the name is already a data product or another port\'s',
  ],
  ['an answer costing more than the budget', external({ epsilon: '3' }), 'epsilonPerAnswer 3 exceeds the budget of 2'],
  [
    'epsilon with more than 6 decimals',
    external({ epsilon: '0.0000001' }),
    'epsilonPerAnswer: 1e-7 has more than 6 decimals',
  ],
  [
    'bounds out of order',
    external({ lower: '2000' }),
    'measure "public.orders.amount" has lower bound 2000 above its upper bound 1000',
  ],
])('%s is refused at load', (_, ports, message) => {
  expect(() => load(base(ports))).toThrow(message);
});

test('the schema: an external port needs its privacy parameters, an internal one may not have them', () => {
  expect(() => load(base('      - { name: x, kind: external, subscribers: { users: [p] } }'))).toThrow(
    /epsilonPerAnswer/,
  );
  expect(() =>
    load(base('      - { name: x, kind: internal, subscribers: { users: [p] }, epsilonPerAnswer: 1 }')),
  ).toThrow();
  expect(() => load(base('      - { name: x, kind: internal, subscribers: {} }'))).toThrow();
});
