/** Live attributes through the whole stack: Redis grants that expire mid-session, and the session purpose. */
import Redis from 'ioredis';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { startStack, type Stack } from '../support/pgveil-stack';
import { deletePrefix, REDIS_URL, testKeyPrefix } from '../support/redis';

const CLI = join(__dirname, '../../dist/cli/pgveil.js');
const prefix = testKeyPrefix('e2e-attributes');
let stack: Stack;
let redis: Redis;

// The demo policies plus a governance rule: card numbers are nulled unless the session declares
// the fraud-investigation purpose.
const withPurposeRule = (demo: string): string =>
  demo.replace(
    'domainPolicies:',
    [
      '  - id: cards-need-purpose',
      '    unless: { purpose: fraud-investigation }',
      '    columns:',
      '      - tags: [finance.card]',
      '        action: { kind: "null" }',
      '',
      'domainPolicies:',
    ].join('\n'),
  );

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  stack = await startStack('e2e_attrs', { redisPrefix: prefix, policyYaml: withPurposeRule });
});
afterAll(async () => {
  await stack.stop();
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

const count = async (c: Awaited<ReturnType<Stack['connect']>>): Promise<number> =>
  (await c.query('SELECT count(*)::int AS n FROM customers')).rows[0].n as number;

test('a just-in-time grant widens the row filter for the next statement and expires by itself', async () => {
  const analyst = await stack.connect('analyst');
  try {
    expect(await count(analyst)).toBe(333);
    const config = join(stack.dir, 'pgveil.yaml');
    const { stdout } = await promisify(execFile)('node', [
      CLI,
      'grant',
      'analyst',
      'region',
      'US',
      '--for',
      '2s',
      '--config',
      config,
    ]);
    expect(stdout).toBe('granted region=US to analyst for 2s\n');
    await new Promise((r) => setTimeout(r, 400));
    expect(await count(analyst)).toBe(333 + 334);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await count(analyst)).toBe(333);
  } finally {
    await analyst.end();
  }
});

test('a revoke takes effect mid-session', async () => {
  const analyst = await stack.connect('analyst');
  const config = join(stack.dir, 'pgveil.yaml');
  try {
    await promisify(execFile)('node', [CLI, 'grant', 'analyst', 'region', 'APAC', '--for', '1h', '--config', config]);
    await new Promise((r) => setTimeout(r, 400));
    expect(await count(analyst)).toBe(666);
    const { stdout } = await promisify(execFile)('node', [CLI, 'revoke', 'analyst', 'region', '--config', config]);
    expect(stdout).toBe('revoked 1 grant(s)\n');
    await new Promise((r) => setTimeout(r, 400));
    expect(await count(analyst)).toBe(333);
  } finally {
    await analyst.end();
  }
});

test('the purpose declared with SET pgveil.purpose or at startup decides what the policy shows', async () => {
  const plain = await stack.connect('analyst');
  const atStartup = await stack.connect('analyst', '-c pgveil.purpose=fraud-investigation');
  try {
    expect((await plain.query('SELECT card_number FROM orders WHERE id = 1')).rows).toEqual([{ card_number: null }]);
    await plain.query("SET pgveil.purpose = 'fraud-investigation'");
    expect((await plain.query('SELECT card_number FROM orders WHERE id = 1')).rows).toEqual([
      { card_number: '***************0003' },
    ]);
    await plain.query('RESET pgveil.purpose');
    expect((await plain.query('SELECT card_number FROM orders WHERE id = 1')).rows).toEqual([{ card_number: null }]);
    expect((await atStartup.query('SELECT card_number FROM orders WHERE id = 1')).rows).toEqual([
      { card_number: '***************0003' },
    ]);
  } finally {
    await plain.end();
    await atStartup.end();
  }
});
