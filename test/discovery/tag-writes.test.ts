/** Turning a report into tag writes: what is written, what is left alone, and the file edit. */
import { TagTaxonomy } from '../../policies/tag-taxonomy';
import { commentStatements, editPolicyText, planTagWrites } from '../../discovery/tag-writes';
import type { DiscoveryReport } from '../../discovery/discovery-report';

const evidence = { sampled: 10, shapeShare: 1, validShare: 1, nameHint: true };
const report: DiscoveryReport = {
  dataProduct: 'p',
  notReached: [],
  durationMs: 1,
  relations: [
    {
      schema: 'public',
      name: 'people',
      kind: 'r',
      sample: { rows: 10, method: 'limit' },
      columns: [
        {
          name: 'mail',
          type: 'text',
          tags: [],
          proposals: [{ classifier: 'email', tag: 'pii.email', confidence: 0.99, evidence }],
        },
        {
          name: 'phone',
          type: 'text',
          tags: ['pii.contact'],
          comment: 'work phone pgveil:tags=pii.contact',
          proposals: [{ classifier: 'phone', tag: 'pii.phone', confidence: 0.9, evidence }],
        },
        {
          name: 'ssn',
          type: 'text',
          tags: [],
          proposals: [{ classifier: 'us_ssn', tag: 'pii.ssn', confidence: 0.55, evidence }],
        },
      ],
    },
  ],
};
const taxonomy = new TagTaxonomy(new Set(['pii.email', 'pii.phone', 'pii.contact', 'pii.ssn']));

test('untagged columns get their proposals; tagged ones are left alone unless overwritten; low confidence is not written', () => {
  const plan = planTagWrites([report], 'p', taxonomy, { minConfidence: 0.6, overwrite: false, declareTags: false });
  expect(plan.writes).toEqual([{ relation: 'public.people', column: 'mail', tags: ['pii.email'] }]);
  expect(plan.alreadyTagged).toEqual(['public.people.phone']);
  const overwrite = planTagWrites([report], 'p', taxonomy, { minConfidence: 0.6, overwrite: true, declareTags: false });
  expect(overwrite.writes.map((w) => w.column)).toEqual(['mail', 'phone']);
  expect(
    commentStatements(overwrite, new Map([['public.people.phone', 'work phone pgveil:tags=pii.contact']])),
  ).toEqual([
    `COMMENT ON COLUMN "public"."people"."mail" IS 'pgveil:tags=pii.email';`,
    `COMMENT ON COLUMN "public"."people"."phone" IS 'work phone pgveil:tags=pii.phone';`,
  ]);
});

test('a tag outside the taxonomy is held back and named, or declared on request', () => {
  const narrow = new TagTaxonomy(new Set(['pii.phone']));
  const held = planTagWrites([report], 'p', narrow, { minConfidence: 0.6, overwrite: false, declareTags: false });
  expect(held.writes).toEqual([]);
  expect([...held.undeclared]).toEqual([['pii.email', ['public.people.mail']]]);
  const declared = planTagWrites([report], 'p', narrow, { minConfidence: 0.6, overwrite: false, declareTags: true });
  const text = '# ours\ntags: [pii.phone]\ndataProducts:\n  - name: p # the product\n    domain: d\n';
  expect(editPolicyText(text, 'p', declared, true)).toBe(
    '# ours\ntags: [pii.phone, pii.email]\ndataProducts:\n  - name: p # the product\n    domain: d\n    tables:\n      public.people:\n        columns:\n          mail: [pii.email]\n',
  );
  expect(editPolicyText(text, 'other', declared, true)).toBeUndefined();
});

test('a plain view is never written (protected through its base relations); a materialized view is', () => {
  const lineage = { classifier: 'lineage' as const, tag: 'pii.email', confidence: 1, from: ['public.people.mail'] };
  const views: DiscoveryReport = {
    dataProduct: 'p',
    notReached: [],
    durationMs: 1,
    relations: [
      {
        schema: 'public',
        name: 'people_v',
        kind: 'v',
        columns: [{ name: 'mail', type: 'text', tags: [], proposals: [lineage] }],
      },
      {
        schema: 'public',
        name: 'people_m',
        kind: 'm',
        columns: [{ name: 'mail', type: 'text', tags: [], proposals: [lineage] }],
      },
    ],
  };
  const plan = planTagWrites([views], 'p', taxonomy, { minConfidence: 0.6, overwrite: false, declareTags: false });
  expect(plan.writes).toEqual([{ relation: 'public.people_m', column: 'mail', tags: ['pii.email'] }]);
  expect(plan.views).toEqual(['public.people_v']);
});

test('--write changes only the lines it writes: long lines, quoted strings, flow lists and comments keep their bytes', () => {
  const verifier = `SCRAM-SHA-256$4096:${'c2FsdA=='.repeat(4)}$${'U'.repeat(44)}=:${'V'.repeat(44)}=`;
  const text = [
    '# policies',
    'tags:',
    '  - pii.phone   # the phone tag',
    '  - pii.contact',
    'dataProducts:',
    '  - name: p',
    '    domain: d',
    '    tables:',
    '      public.people:',
    '        columns:',
    '          phone: [pii.contact] # set by hand',
    '',
    '      public.other:',
    '        columns:',
    '          x: [ pii.phone ]',
    '',
    'globalPolicies:',
    '  - id: r',
    '    unless: { attribute: clearance, equals: pii }',
    '    columns: [{ tags: [pii.phone, pii.contact, pii.email, pii.ssn, pii.name, pii.birth_date, finance.card], action: { kind: hash } }]',
    'users:',
    `  - { name: a, password: "${verifier}", groups: [g] }`,
    '',
  ].join('\n');
  const plan = planTagWrites([report], 'p', taxonomy, { minConfidence: 0.6, overwrite: true, declareTags: true });
  const withDeclared = { ...plan, undeclared: new Map([['pii.email', ['public.people.mail']]]) };
  expect(editPolicyText(text, 'p', withDeclared, true)).toBe(
    text
      .replace('  - pii.contact\n', '  - pii.contact\n  - pii.email\n')
      .replace('phone: [pii.contact] # set by hand', 'phone: [pii.phone] # set by hand\n          mail: [pii.email]'),
  );
});

test('a product entry in flow style is printed again, with the same meaning', () => {
  const text =
    'tags: [pii.email]\ndataProducts:\n  - { name: p, domain: d, tables: { public.people: { columns: {} } } }\n';
  const plan = planTagWrites([report], 'p', taxonomy, { minConfidence: 0.6, overwrite: false, declareTags: false });
  expect(editPolicyText(text, 'p', plan, false)).toBe(
    'tags: [ pii.email ]\ndataProducts:\n  - { name: p, domain: d, tables: { public.people: { columns: { mail: [ pii.email ] } } } }\n',
  );
});
