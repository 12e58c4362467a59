/**
 * Settings follow transactions exactly as PostgreSQL's do. Two views are compared after every
 * step: upstream's own (`SHOW search_path`, `current_setting('pgveil.purpose')`) and pgveil's, read
 * through what pgveil decides with it (which schema's `marker` table an unqualified name resolves
 * to, and whether a purpose-gated column is shown). Both must equal the expected value.
 */
import { Client } from 'pg';
import { SessionSettings } from '../../proxy/session/session-settings';
import type { SessionEffect } from '../../rewriter/rewrite-types';
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

/** A step: SQL to run (`!` first: it fails), or an observation: the expected search_path and purpose. */
type Step = string | { readonly path: string; readonly purpose: string | null };
const see = (path: string, purpose: string | null = null): Step => ({ path, purpose });

const SCENARIOS: ReadonlyArray<readonly [string, readonly Step[]]> = [
  ['SET rolled back', ['BEGIN', 'SET search_path = a', see('a'), 'ROLLBACK', see('public')]],
  [
    'purpose rolled back',
    ['BEGIN', `SET pgveil.purpose = '${FRAUD}'`, see('public', FRAUD), 'ROLLBACK', see('public')],
  ],
  [
    'SET committed, then RESET',
    ['BEGIN', 'SET search_path = a', 'COMMIT', see('a'), 'RESET search_path', see('public')],
  ],
  [
    'SET LOCAL ends with the transaction',
    ['SET search_path = b', 'BEGIN', 'SET LOCAL search_path = a', see('a'), 'COMMIT', see('b')],
  ],
  [
    'SET LOCAL purpose ends with the transaction',
    [
      `SET pgveil.purpose = '${FRAUD}'`,
      'BEGIN',
      "SET LOCAL pgveil.purpose = 'marketing'",
      see('public', 'marketing'),
      'ROLLBACK',
      see('public', FRAUD),
    ],
  ],
  [
    'SET and SET LOCAL in one transaction: the SET survives a commit',
    ['BEGIN', 'SET search_path = a', 'SET LOCAL search_path = b', see('b'), 'COMMIT', see('a')],
  ],
  [
    'ROLLBACK TO SAVEPOINT restores, RELEASE keeps',
    [
      'BEGIN',
      'SET search_path = a',
      'SAVEPOINT s',
      'SET search_path = b',
      see('b'),
      'ROLLBACK TO SAVEPOINT s',
      see('a'),
      'SET search_path = b',
      'RELEASE s',
      see('b'),
      'COMMIT',
      see('b'),
    ],
  ],
  [
    'a failed transaction undoes its SETs at ROLLBACK',
    ['BEGIN', 'SET search_path = a', '!SELECT 1/0', 'ROLLBACK', see('public')],
  ],
  [
    'COMMIT of a failed transaction is a rollback',
    ['BEGIN', `SET pgveil.purpose = '${FRAUD}'`, '!SELECT 1/0', 'COMMIT', see('public')],
  ],
  [
    'ROLLBACK TO recovers a failed transaction',
    [
      'SET search_path = b',
      'BEGIN',
      'SET search_path = a',
      'SAVEPOINT s',
      '!SELECT 1/0',
      'ROLLBACK TO s',
      see('a'),
      'ROLLBACK',
      see('b'),
    ],
  ],
  [
    'a failing statement undoes the SET of its implicit transaction',
    ['!SET search_path = b; SELECT 1/0', see('public')],
  ],
  ['a Query of several statements keeps its SET when all succeed', ['SET search_path = b; SELECT 1', see('b')]],
  [
    'BEGIN inside a Query turns its implicit transaction into the block',
    ['!SET search_path = a; BEGIN; SELECT 1/0', 'ROLLBACK', see('public')],
  ],
  ['SET LOCAL outside a transaction has no lasting effect', ['SET LOCAL search_path = a', see('public')]],
  [
    'DISCARD ALL returns to the start',
    ['SET search_path = a', `SET pgveil.purpose = '${FRAUD}'`, 'DISCARD ALL', see('public')],
  ],
  [
    'RESET ALL returns to the start',
    ['SET search_path = b', `SET pgveil.purpose = '${FRAUD}'`, 'RESET ALL', see('public')],
  ],
  [
    'SET ... TO DEFAULT inside a rolled-back transaction',
    ['SET search_path = a', 'BEGIN', 'SET search_path TO DEFAULT', see('public'), 'ROLLBACK', see('a')],
  ],
];

describe('through the proxy, compared with upstream after each step', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('session_settings', {
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

  test.each(SCENARIOS)('%s', async (_name, steps) => {
    const analyst = await stack.connect('analyst');
    try {
      for (const step of steps) {
        if (typeof step === 'string') {
          const fails = step.startsWith('!');
          const run = analyst.query(fails ? step.slice(1) : step);
          if (fails) await expect(run).rejects.toMatchObject({ code: '22012' });
          else await run;
          continue;
        }
        const upstreamPath = (await analyst.query('SHOW search_path')).rows[0].search_path as string;
        const upstreamPurpose = (await analyst.query("SELECT current_setting('pgveil.purpose', true) AS p")).rows[0]
          .p as string | null;
        const pgveilSchema = (await analyst.query('SELECT v FROM marker')).rows[0].v as string;
        const card = (await analyst.query('SELECT card_number FROM public.orders ORDER BY id LIMIT 1')).rows[0]
          .card_number as string | null;
        expect({ upstream: upstreamPath.replace('"$user", ', ''), pgveil: pgveilSchema }).toEqual({
          upstream: step.path,
          pgveil: step.path,
        });
        expect(upstreamPurpose || null).toBe(step.purpose);
        // pgveil shows the card (masked to its last digits) only under the fraud purpose.
        expect(card === null ? null : 'shown').toBe(step.purpose === FRAUD ? 'shown' : null);
      }
    } finally {
      await analyst.end();
    }
  });

  test('extended protocol: a SET undone by a later failure before Sync, and a SET LOCAL', async () => {
    const analyst = await stack.connect('analyst');
    try {
      // node-postgres sends statements with parameters as Parse/Bind/Execute/Sync.
      await analyst.query({ text: 'BEGIN' });
      await analyst.query({ text: 'SET LOCAL search_path = a' });
      expect((await analyst.query({ text: 'SELECT v FROM marker WHERE $1::int = 1', values: [1] })).rows).toEqual([
        { v: 'a' },
      ]);
      await expect(analyst.query({ text: 'SELECT 1/$1::int', values: [0] })).rejects.toMatchObject({ code: '22012' });
      await analyst.query('ROLLBACK');
      expect((await analyst.query({ text: 'SELECT v FROM marker WHERE $1::int = 1', values: [1] })).rows).toEqual([
        { v: 'public' },
      ]);
    } finally {
      await analyst.end();
    }
  });
});

describe('the state machine alone', () => {
  const set = (path: string, local = false): SessionEffect => ({
    statement: 0,
    kind: 'set',
    values: { searchPath: [path] },
    local,
  });
  const tx = (
    op: 'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollback_to',
    savepoint?: string,
  ): SessionEffect => ({ statement: 0, kind: 'transaction', op, ...(savepoint ? { savepoint } : {}) });

  test('nested savepoints with the same name: ROLLBACK TO the latest, RELEASE from it up', () => {
    const s = new SessionSettings({ searchPath: ['public'], purpose: undefined });
    s.apply(tx('begin'));
    s.apply(set('a'));
    s.apply(tx('savepoint', 'x'));
    s.apply(set('b'));
    s.apply(tx('savepoint', 'x'));
    s.apply(set('c'));
    s.apply(tx('rollback_to', 'x'));
    expect(s.current.searchPath).toEqual(['b']);
    s.apply(tx('release', 'x'));
    s.apply(tx('rollback_to', 'x'));
    expect(s.current.searchPath).toEqual(['a']);
    s.apply(tx('commit'));
    s.readyForQuery('I');
    expect(s.current.searchPath).toEqual(['a']);
  });

  test("a block opened by another client's message is seen from ReadyForQuery 'T', and its failure from 'E'", () => {
    const s = new SessionSettings({ searchPath: ['public'], purpose: undefined });
    s.readyForQuery('T');
    s.apply(set('a'));
    s.readyForQuery('E');
    s.readyForQuery('I');
    expect(s.current.searchPath).toEqual(['public']);
  });
});
