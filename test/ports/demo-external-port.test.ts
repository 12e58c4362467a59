/**
 * The demo's external port as README shows it, with psql: the partner's noisy answer, the same
 * answer again for free, `SHOW pgveil.budget`, a row-level question refused, and the budget of
 * epsilon 2 (0.5 an answer) running out at the fifth new question.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createScramVerifier } from '../../proxy';
import { demoPolicyYaml } from '../../cli/demo/demo-policy';
import { startStack, type Stack } from '../support/pgveil-stack';
import { deletePrefix, testKeyPrefix } from '../support/redis';
import Redis from 'ioredis';
import { REDIS_URL } from '../support/redis';

/** The demo policy's own port section and partner, as `npm start` writes them. */
function withDemoPartner(demo: string): string {
  const full = demoPolicyYaml({
    upstreamPort: 1,
    upstreamDatabase: 'x',
    serviceRole: 'x',
    passwordFile: 'x',
    analystVerifier: 'a',
    stewardVerifier: 's',
    partnerVerifier: createScramVerifier('partner'),
  });
  const ports = full.slice(full.indexOf('    ports:\n'), full.indexOf('\nglobalPolicies:'));
  const partner = full.slice(full.indexOf('  - name: partner\n'));
  return (
    demo.replace('          name: [pii.name]\n', `          name: [pii.name]\n${ports}`).trimEnd() + `\n${partner}`
  );
}

let stack: Stack;
const prefix = testKeyPrefix('ports_demo');
beforeAll(async () => {
  stack = await startStack('ports_demo', { policyYaml: withDemoPartner, redisPrefix: prefix });
});
afterAll(async () => {
  await stack?.stop();
  const redis = new Redis(REDIS_URL);
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

const psql = async (sql: string): Promise<{ out: string; err: string }> => {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      'psql',
      [`host=127.0.0.1 port=${stack.port} dbname=demo_external user=partner`, '-X', '-A', '-F', '|', '-c', sql],
      { env: { ...process.env, PGPASSWORD: 'partner' } },
    );
    return { out: stdout, err: stderr };
  } catch (error) {
    return { out: '', err: (error as { stderr: string }).stderr };
  }
};

test('a partner queries the demo port with psql until the budget runs out', async () => {
  const question = 'SELECT status, count(*), sum(amount), avg(amount) FROM orders GROUP BY status';
  const first = await psql(question);
  const rows = first.out.trim().split('\n');
  expect(rows[0]).toBe('status|count|sum|avg');
  expect(rows.slice(1, 5).map((r) => r.split('|')[0])).toEqual(['placed', 'shipped', 'delivered', 'returned']);
  expect(rows[5]).toBe('(4 rows)');
  for (const row of rows.slice(1, 5)) {
    const [, count, sum, avg] = row.split('|');
    expect(count).toMatch(/^\d+$/);
    expect(sum).toMatch(/^-?\d+\.\d\d$/);
    expect(avg).toMatch(/^\d+\.\d{4}$/);
  }
  expect((await psql(question)).out).toBe(first.out);
  expect((await psql('SHOW pgveil.budget')).out).toMatch(
    /^port\|budget_epsilon\|spent_epsilon\|remaining_epsilon\|epsilon_per_answer\|period_ends\ndemo_external\|2\|0\.5\|1\.5\|0\.5\|\d{4}-\d\d-\d\dT00:00:00\.000Z\n/,
  );
  expect((await psql('SELECT customer_id, amount FROM orders')).err).toContain(
    'ERROR:  selecting "customer_id" (not a grouped dimension: a row-level value) is refused: external port "demo_external" answers only SELECT of COUNT(*)',
  );
  const regions = await psql('SELECT region, count(*) FROM customers GROUP BY region');
  expect(
    regions.out
      .split('\n')
      .slice(1, 4)
      .map((r) => r.split('|')[0]),
  ).toEqual(['EU', 'US', 'APAC']);
  // A differencing attack on customer 7: its third and fourth answers spend the rest.
  expect((await psql('SELECT count(*) FROM orders WHERE customer_id = 7')).out).toMatch(/^count\n\d+\n\(1 row\)/);
  expect((await psql('SELECT count(*) FROM orders WHERE customer_id <> 7')).out).toMatch(/^count\n\d+\n\(1 row\)/);
  const refused = await psql('SELECT count(*) FROM orders WHERE customer_id = 8');
  expect(refused.err).toMatch(
    /ERROR: {2}privacy budget of user "partner" on external port "demo_external" is exhausted: this answer needs epsilon 0\.5, 0 of 2 is left until /,
  );
});
