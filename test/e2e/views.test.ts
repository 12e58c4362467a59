/**
 * A data product's reporting layer through the real proxy: views over protected tables answer with
 * masked values and filtered rows (psql and node-postgres), a partition read directly is masked like
 * its parent, and an untagged copy of a tagged column in a materialized view raises an event.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startStack, type Stack } from '../support/pgveil-stack';
import { VIEW_SQL } from '../support/view-fixtures';
import { CANARY_SQL, leakedCanaries } from '../adversarial/canaries';
import { waitForText } from '../support/wait-for-text';

const EXTRA = `
CREATE VIEW public.invoker_contacts WITH (security_invoker = true) AS SELECT id, email FROM public.customers;
CREATE MATERIALIZED VIEW public.email_copy AS SELECT id, email FROM public.customers;
`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('e2e_views', { extraSql: CANARY_SQL + VIEW_SQL + EXTRA });
});
afterAll(() => stack.stop());

const psql = async (sql: string): Promise<string> =>
  (
    await promisify(execFile)(
      'psql',
      [
        '-X',
        '-At',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        '127.0.0.1',
        '-p',
        String(stack.port),
        '-U',
        'analyst',
        '-d',
        'demo',
        '-c',
        sql,
      ],
      {
        env: { ...process.env, PGPASSWORD: 'analyst' },
      },
    )
  ).stdout;

test('psql reads nested views with renamed columns: masked, EU rows only', async () => {
  expect(await psql('SELECT customer, mail FROM contact_names ORDER BY customer, mail LIMIT 2')).toBe(
    'Ada Allen|c**********@example.com\nAda Allen|c**********@example.com\n',
  );
  expect(await psql("SELECT count(*) FROM customer_contacts WHERE region <> 'EU' OR name LIKE 'ZQ7%'")).toBe('0\n');
  expect(await psql('SELECT id, email FROM eu_contacts WHERE id = 3')).toBe('3|z****************@example.com\n');
});

test('node-postgres: the self-join view, the security_invoker view and the tagged materialized view carry no canary', async () => {
  const analyst = await stack.connect('analyst');
  try {
    const pairs = await analyst.query(
      'SELECT first_id, second_id, ssn FROM shared_ssn WHERE first_id IN (1, 2, 3) ORDER BY first_id',
    );
    expect(pairs.rows).toHaveLength(1);
    expect(pairs.rows[0]).toMatchObject({ first_id: 3, second_id: 3 });
    expect(pairs.rows[0].ssn).toMatch(/^[0-9a-f]{64}$/);
    expect((await analyst.query('SELECT id, email FROM invoker_contacts WHERE id IN (1, 3) ORDER BY id')).rows).toEqual(
      [{ id: 3, email: 'z****************@example.com' }],
    );
    const copy = await analyst.query('SELECT id, ssn FROM customer_ssn_copy WHERE id IN (1, 2, 3) ORDER BY id');
    expect(copy.rows.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(leakedCanaries(JSON.stringify(copy.rows))).toEqual([]);
    const partition = await analyst.query('SELECT id, visitor_email FROM visits_us WHERE id = 1');
    expect(partition.rows).toEqual([{ id: 1, visitor_email: 'z****************@example.com' }]);
  } finally {
    await analyst.end();
  }
});

test('the steward, with clearance, reads the views as they are', async () => {
  const steward = await stack.connect('steward');
  try {
    expect((await steward.query('SELECT mail FROM contact_names WHERE customer = $1', ['ZQ7NAME-US'])).rows).toEqual([
      { mail: 'zq7canary.us.mail@example.com' },
    ]);
  } finally {
    await steward.end();
  }
});

test('an untagged copy of a tagged column in a materialized view raises an event at the catalog load', async () => {
  const analyst = await stack.connect('analyst');
  try {
    // Served as stored: its own columns carry no tag.
    expect((await analyst.query('SELECT email FROM email_copy WHERE id = 6')).rows).toEqual([
      { email: 'customer6@example.com' },
    ]);
  } finally {
    await analyst.end();
  }
  const text = await waitForText(stack.eventsFile, 'matview_untagged_source');
  const events = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { kind: string; message: string; dataProduct: string; severity: string });
  const found = events.filter((e) => e.kind === 'matview_untagged_source');
  expect(found.map((e) => e.message)).toEqual([
    'materialized view "public.email_copy" column "email" is computed from tagged "public.customers.email" but has no tag of its own: pgveil serves it unmasked',
  ]);
  expect(found[0]).toMatchObject({ dataProduct: 'demo', severity: 'medium' });
});
