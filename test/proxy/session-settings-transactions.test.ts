/**
 * Issue #12 point 5, the forms session-settings.test.ts does not drive: `set_config` (lasting and
 * local), `RESET` of the purpose, the purpose through savepoints and failures, and RESET back to a
 * value given at startup. As there, upstream's view (`SHOW`, `current_setting`) and pgveil's (which
 * schema's `marker` an unqualified name reads, whether the purpose-gated card column is shown) are
 * compared with the expected value after every step. `AND CHAIN` is refused.
 */
import { Client } from 'pg';
import { startStack, type Stack } from '../support/pgveil-stack';

const FRAUD = 'fraud-investigation';

/** Card numbers are nulled unless the session declares the fraud-investigation purpose. */
const withPurposeRule = (demo: string): string =>
  demo.replace(
    'domainPolicies:',
    [
      '  - id: cards-need-purpose',
      `    unless: { purpose: ${FRAUD} }`,
      '    columns:',
      '      - tags: [finance.card]',
      '        action: { kind: "null" }',
      '',
      'domainPolicies:',
    ].join('\n'),
  );

/** A step: SQL to run (`!` first: it fails with 22012), or what both views must show. */
type Step = string | { readonly path: string; readonly purpose: string | null };
const see = (path: string, purpose: string | null = null): Step => ({ path, purpose });
const setConfig = (name: string, value: string, local: boolean): string =>
  `SELECT set_config('${name}', '${value}', ${String(local)})`;

const SCENARIOS: ReadonlyArray<readonly [string, readonly Step[]]> = [
  [
    'set_config of search_path rolled back',
    ['BEGIN', setConfig('search_path', 'a', false), see('a'), 'ROLLBACK', see('public')],
  ],
  [
    'set_config of search_path committed',
    ['BEGIN', setConfig('search_path', 'a', false), 'COMMIT', see('a'), 'RESET search_path', see('public')],
  ],
  [
    'set_config local ends with the transaction',
    ['BEGIN', setConfig('search_path', 'a', true), see('a'), 'COMMIT', see('public')],
  ],
  [
    'set_config of the purpose rolled back',
    ['BEGIN', setConfig('pgveil.purpose', FRAUD, false), see('public', FRAUD), 'ROLLBACK', see('public')],
  ],
  [
    'set_config local of the purpose ends with the transaction',
    ['BEGIN', setConfig('pgveil.purpose', FRAUD, true), see('public', FRAUD), 'COMMIT', see('public')],
  ],
  [
    'set_config undone by a failure in its implicit transaction',
    [`!${setConfig('pgveil.purpose', FRAUD, false)}; SELECT 1/0`, see('public')],
  ],
  [
    'RESET of the purpose rolled back',
    [
      `SET pgveil.purpose = '${FRAUD}'`,
      'BEGIN',
      'RESET pgveil.purpose',
      see('public'),
      'ROLLBACK',
      see('public', FRAUD),
    ],
  ],
  [
    'the purpose through ROLLBACK TO SAVEPOINT',
    [
      'BEGIN',
      'SAVEPOINT s',
      `SET pgveil.purpose = '${FRAUD}'`,
      see('public', FRAUD),
      'ROLLBACK TO SAVEPOINT s',
      see('public'),
      'COMMIT',
      see('public'),
    ],
  ],
  [
    'the purpose of a failed transaction',
    ['BEGIN', `SET pgveil.purpose = '${FRAUD}'`, '!SELECT 1/0', 'ROLLBACK', see('public')],
  ],
  ['the purpose of a failing implicit transaction', [`!SET pgveil.purpose = '${FRAUD}'; SELECT 1/0`, see('public')]],
];

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('session_settings_tx', {
    policyYaml: withPurposeRule,
    extraSql: [
      'CREATE SCHEMA a',
      'CREATE SCHEMA b',
      "CREATE TABLE public.marker AS SELECT 'public'::text AS v",
      "CREATE TABLE a.marker AS SELECT 'a'::text AS v",
      "CREATE TABLE b.marker AS SELECT 'b'::text AS v",
    ].join(';\n'),
  });
  const admin = new Client(stack.db.config());
  await admin.connect();
  await admin.query(
    `GRANT USAGE ON SCHEMA a, b TO ${stack.serviceRole}; GRANT SELECT ON a.marker, b.marker, public.marker TO ${stack.serviceRole}`,
  );
  await admin.end();
  await stack.pgveil.catalogs.refresh('demo');
});
afterAll(async () => stack.stop());

async function run(analyst: Client, steps: readonly Step[]): Promise<void> {
  for (const step of steps) {
    if (typeof step === 'string') {
      const fails = step.startsWith('!');
      const query = analyst.query(fails ? step.slice(1) : step);
      if (fails) await expect(query).rejects.toMatchObject({ code: '22012' });
      else await query;
      continue;
    }
    const upstreamPath = (await analyst.query('SHOW search_path')).rows[0].search_path as string;
    const upstreamPurpose = (await analyst.query("SELECT current_setting('pgveil.purpose', true) AS p")).rows[0].p as
      string | null;
    const pgveilSchema = (await analyst.query('SELECT v FROM marker')).rows[0].v as string;
    const card = (await analyst.query('SELECT card_number FROM public.orders ORDER BY id LIMIT 1')).rows[0]
      .card_number as string | null;
    expect({ step, upstream: upstreamPath.replace('"$user", ', ''), pgveil: pgveilSchema }).toEqual({
      step,
      upstream: step.path,
      pgveil: step.path,
    });
    expect({ step, upstream: upstreamPurpose || null }).toEqual({ step, upstream: step.purpose });
    expect({ step, pgveil: card === null ? null : 'shown' }).toEqual({
      step,
      pgveil: step.purpose === FRAUD ? 'shown' : null,
    });
  }
}

test.each(SCENARIOS)('%s', async (_name, steps) => {
  const analyst = await stack.connect('analyst');
  try {
    await run(analyst, steps);
  } finally {
    await analyst.end();
  }
});

test('RESET and a rolled-back SET return to the search_path given at startup, as upstream does', async () => {
  const analyst = await stack.connect('analyst', '-c search_path=b');
  try {
    await run(analyst, [
      see('b'),
      'SET search_path = a',
      'RESET search_path',
      see('b'),
      'BEGIN',
      'SET search_path = a',
      'RESET ALL',
      see('b'),
      'SET search_path = a',
      see('a'),
      'ROLLBACK',
      see('b'),
    ]);
  } finally {
    await analyst.end();
  }
});

/**
 * A purpose given at startup is pgveil's alone: it is not forwarded upstream (startup-parameters.ts),
 * so upstream's `current_setting` cannot be compared here. pgveil's own view must still behave as
 * PostgreSQL's would: RESET and a rollback return to the startup value.
 */
test('RESET and a rolled-back SET return to the purpose given at startup', async () => {
  const analyst = await stack.connect('analyst', `-c pgveil.purpose=${FRAUD}`);
  const cardShown = async (): Promise<boolean> =>
    (await analyst.query('SELECT card_number FROM public.orders ORDER BY id LIMIT 1')).rows[0].card_number !== null;
  try {
    expect(await cardShown()).toBe(true);
    await analyst.query("SET pgveil.purpose = 'marketing'");
    expect(await cardShown()).toBe(false);
    await analyst.query('RESET pgveil.purpose');
    expect(await cardShown()).toBe(true);
    await analyst.query('BEGIN');
    await analyst.query("SET pgveil.purpose = 'marketing'");
    expect(await cardShown()).toBe(false);
    await analyst.query('ROLLBACK');
    expect(await cardShown()).toBe(true);
  } finally {
    await analyst.end();
  }
});

/** The printer drops AND CHAIN; the read-back sees it and the statement is refused, nothing changes. */
test.each(['COMMIT AND CHAIN', 'ROLLBACK AND CHAIN'])(
  '%s is refused and the SET of the block is undone',
  async (end) => {
    const analyst = await stack.connect('analyst');
    try {
      await run(analyst, ['BEGIN', 'SET search_path = a', see('a')]);
      await expect(analyst.query(end)).rejects.toMatchObject({
        message: expect.stringContaining('the rewritten statement does not read back as the same statement'),
      });
      await run(analyst, ['ROLLBACK', see('public')]);
    } finally {
      await analyst.end();
    }
  },
);
