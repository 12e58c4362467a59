/** The keyed hash: an HMAC the service account can compute but whose key it cannot read, in no SQL text or plan. */
import { createHmac } from 'node:crypto';
import { createDemoProduct, type DemoProduct } from '../support/rewrite-harness';
import { analystPolicy } from '../support/static-policy';

const KEY = Buffer.alloc(32, 7); // what the harness installs
let demo: DemoProduct;
beforeAll(async () => {
  demo = await createDemoProduct('rw_helper');
});
afterAll(() => demo.stop());

async function asService<T>(fn: () => Promise<T>): Promise<T> {
  await demo.client.query(`SET ROLE ${demo.serviceRole}`);
  try {
    return await fn();
  } finally {
    await demo.client.query('RESET ROLE');
  }
}

test('the service account computes the HMAC-SHA256 of a value', async () => {
  const rows = await asService(
    async () => (await demo.client.query("SELECT pgveil.keyed_hash('757-03-0093') AS h")).rows,
  );
  expect(rows).toEqual([{ h: createHmac('sha256', KEY).update('757-03-0093').digest('hex') }]);
});

test('the service account cannot read the key, nor become the role that can', async () => {
  await asService(async () => {
    await expect(demo.client.query('SELECT * FROM pgveil.hash_key')).rejects.toMatchObject({ code: '42501' });
  });
  // SET ROLE is judged against the session user (a superuser here), so ask about membership instead.
  const member = await demo.client.query(`SELECT pg_has_role($1, 'pgveil_owner', 'MEMBER') AS m`, [demo.serviceRole]);
  expect(member.rows).toEqual([{ m: false }]);
});

test('neither the function source nor the plan of a rewritten statement carries the key', async () => {
  const padHex = (byte: number): string => Buffer.alloc(8, 7 ^ byte).toString('hex');
  const source = (await demo.client.query("SELECT prosrc FROM pg_proc WHERE proname = 'keyed_hash'")).rows[0]
    .prosrc as string;
  const outcome = demo.rewrite('SELECT ssn FROM customers WHERE id = 3', analystPolicy);
  if (outcome.kind !== 'plan') throw new Error(outcome.message);
  const plan = (await demo.client.query(`EXPLAIN (VERBOSE, COSTS OFF) ${outcome.sql}`)).rows
    .map((r) => r['QUERY PLAN'] as string)
    .join('\n');
  expect(plan).toContain('pgveil.keyed_hash');
  for (const text of [source, outcome.sql, plan]) {
    expect(text).not.toContain(KEY.toString('hex').slice(0, 16));
    expect(text).not.toContain(padHex(0x36));
    expect(text).not.toContain(padHex(0x5c));
  }
});
