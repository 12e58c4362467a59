/** The catalog's pure pieces: escaping by construction, ten-minute buckets, referenced columns, row filters as text. */
import { initRewriter } from '../../rewriter';
import { anchorId, catalogPath, html, raw } from '../../catalog/html';
import { BUCKET_MS, CatalogActivity, WINDOW_MS } from '../../catalog/activity';
import { referencedColumns } from '../../catalog/referenced-columns';
import { predicateText } from '../../catalog/catalog-model';

beforeAll(() => initRewriter());

test('html escapes every interpolated value, in text and attributes, unless it is html itself', () => {
  const name = `<script>"x" & 'y' \`z\`</script>`;
  expect(html`<td title="${name}">${name}</td>`.text).toBe(
    '<td title="&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39; &#96;z&#96;&lt;/script&gt;">&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39; &#96;z&#96;&lt;/script&gt;</td>',
  );
  expect(html`<ul>${['<a>', html`<li>${'<b>'}</li>`]}</ul>`.text).toBe('<ul>&lt;a&gt;<li>&lt;b&gt;</li></ul>');
  expect(html`${null}${undefined}${false}${0}${raw('<br>')}`.text).toBe('0<br>');
  // A name cannot change the route or the fragment.
  expect(catalogPath('principals', '../x?y#z')).toBe('/catalog/principals/..%2Fx%3Fy%23z');
  expect(anchorId('rule', '<x" onclick="y>')).toMatch(/^rule-x-onclick-y-[0-9a-z]+$/);
  expect(anchorId('rule', 'a.b')).not.toBe(anchorId('rule', 'a-b'));
});

test('statements are counted in ten-minute buckets over 24 hours; older ones fall out', () => {
  let now = Date.UTC(2026, 11, 1, 12, 0, 0);
  const activity = new CatalogActivity(
    () => [],
    3,
    () => now,
  );
  activity.countStatement('demo', now - 5 * 60_000, false);
  activity.countStatement('demo', now - 5 * 60_000, true);
  activity.countStatement('demo', now - 23 * 3_600_000, false);
  activity.countStatement('demo', now - WINDOW_MS - 1, false);
  expect(activity.buckets('demo')).toHaveLength(WINDOW_MS / BUCKET_MS);
  expect(activity.totals('demo')).toMatchObject({ statements: 3, refusals: 1 });
  now += 2 * 3_600_000;
  expect(activity.totals('demo')).toMatchObject({ statements: 2, refusals: 1 });
  const kinds = [
    'auth_failure',
    'protocol_violation',
    'limit_exceeded',
    'upstream_failure',
    'statement_refused',
  ] as const;
  for (const kind of kinds)
    activity.event({
      time: new Date(now).toISOString(),
      kind,
      severity: 'low',
      actor: { user: null, session: '', client: '' },
      dataProduct: null,
      message: '',
      reasons: [],
    });
  expect(activity.recentEvents().map((e) => e.kind)).toEqual([
    'statement_refused',
    'upstream_failure',
    'limit_exceeded',
  ]);
});

test('referenced columns: names, star and whole-row references', () => {
  const columns = new Set(['email', 'ssn', 'id']);
  expect(referencedColumns('SELECT id, email FROM customers WHERE id = 3', columns)).toEqual(new Set(['id', 'email']));
  expect(referencedColumns('SELECT c.email FROM customers c', columns)).toEqual(new Set(['email']));
  expect(referencedColumns('SELECT * FROM customers', columns)).toBe('all');
  expect(referencedColumns('SELECT row_to_json(c) FROM customers c', columns)).toBe('all');
  expect(referencedColumns('SELEC nonsense', columns)).toBe('all');
});

test('row filters read as the policy wrote them', () => {
  expect(
    predicateText({
      op: 'and',
      args: [
        { op: 'eq', column: 'region', value: "O'Hara" },
        { op: 'in', column: 'tier', values: [1, null] },
      ],
    }),
  ).toBe("(region = 'O''Hara') AND (tier IN (1, NULL))");
  expect(predicateText({ op: 'template', sql: 'owner = $1', params: ['alice'] })).toBe("owner = $1 with 'alice'");
});
