/**
 * Prepared statements in transaction pooling behave as on PostgreSQL (#17, point 2): the same
 * frames are sent to the machine's PostgreSQL directly (as the superuser) and through a pool of two
 * connections (as the steward, who sees raw values, so even the rows must be equal), by two sessions
 * interleaved, and every answer is compared: re-Parse of a name (42P05, the rest skipped to Sync),
 * Close then Bind (26000), DEALLOCATE, DEALLOCATE ALL and DISCARD ALL, and a statement described
 * and bound on a connection other than the one it was prepared on.
 */
import type { Stack } from '../support/pgveil-stack';
import { startPooledStack, type PooledStack } from '../support/pooled-stack';
import { RawClient } from '../support/raw-client';
import { directSession, exchange, frames as f } from '../support/frame-exchange';

const CANARY_EMAIL = 'canary.statements@example.com';
const BY_ID = 'SELECT email FROM customers WHERE id = $1';

let stack: Stack;

let pooled: PooledStack;

beforeAll(async () => {
  pooled = await startPooledStack(
    'pgveil_pool_stmts',
    { size: 2, waitTimeoutMs: 5000 },
    { id: 900002, name: 'Canary Statements', email: CANARY_EMAIL, ssn: '900-00-0002', phone: '+1 555 0102' },
  );
  ({ stack } = pooled);
}, 60_000);

afterAll(async () => {
  await pooled?.stop();
});

type Send = (frames: readonly Buffer[]) => Promise<string[]>;

/**
 * Runs `script` with two sessions on PostgreSQL directly and with two steward sessions through
 * the pool; returns both transcripts (one list of tokens per exchange).
 */
async function bothWays(
  script: (a: Send, b: Send) => Promise<void>,
): Promise<{ direct: string[][]; pooled: string[][] }> {
  const run = async (open: () => Promise<RawClient>): Promise<string[][]> => {
    const transcript: string[][] = [];
    const a = await open();
    const b = await open();
    const sender =
      (c: RawClient, who: string): Send =>
      async (frames) => {
        const tokens = await exchange(c, frames);
        transcript.push([who, ...tokens]);
        return tokens;
      };
    try {
      await script(sender(a, 'a'), sender(b, 'b'));
    } finally {
      a.close();
      b.close();
    }
    return transcript;
  };
  const direct = await run(() => directSession(stack.db.name));
  const pooled = await run(() => RawClient.session(stack.port, 'demo', 'steward'));
  return { direct, pooled };
}

const select = (statement: string, id: number): Buffer[] => [f.bind(statement, [String(id)]), f.execute(), f.sync()];
const canaryRow = ['2', `D:["${CANARY_EMAIL}"]`, 'C:SELECT 1', 'Z:I'];

test('re-Parse of an existing name fails with 42P05, the rest of the pipeline is skipped to Sync, and the first statement stays', async () => {
  const { direct, pooled } = await bothWays(async (a, b) => {
    await a([f.parse('s', BY_ID), f.sync()]);
    await b([f.parse('s', 'SELECT ssn AS email FROM customers WHERE id = $1'), f.sync()]);
    await a([f.parse('s', 'SELECT name FROM customers WHERE id = $1'), ...select('s', 900002)]);
    await a(select('s', 900002));
    await a([f.query('BEGIN'), f.parse('s', BY_ID), f.bind('s', ['900002']), f.execute(), f.sync()]);
    await a([f.query('ROLLBACK')]);
    // The unnamed statement may be replaced at will.
    await b([
      f.parse('', BY_ID),
      f.parse('', 'SELECT name AS email FROM customers WHERE id = $1'),
      ...select('', 900002),
    ]);
    await b(select('s', 900002));
  });
  expect(pooled).toEqual(direct);
  expect(direct[2]).toEqual(['a', 'E:42P05', 'Z:I']);
  expect(direct[3]).toEqual(['a', ...canaryRow]);
  expect(direct[4]).toEqual(['a', 'C:BEGIN', 'Z:T', 'E:42P05', 'Z:E']);
});

test('a Parse that failed leaves its name free: a Parse of it later in the same pipeline succeeds', async () => {
  const { direct, pooled } = await bothWays(async (a) => {
    await a([f.parse('t', 'SELECT 1 FROM no_such_table'), f.sync(), f.parse('t', BY_ID), ...select('t', 900002)]);
  });
  expect(direct[0]).toEqual(['a', 'E:42P01', 'Z:I', '1', ...canaryRow]);
  expect(pooled).toEqual(direct);
});

test('Close of a statement, then Bind of it, fails with 26000; Close of an unknown name succeeds', async () => {
  const { direct, pooled } = await bothWays(async (a, b) => {
    await a([f.parse('s', BY_ID), f.sync()]);
    await b([f.parse('s', BY_ID), f.sync()]);
    await a([f.closeStatement('s'), ...select('s', 900002)]);
    await a([f.closeStatement('never_prepared'), f.sync()]);
    // The other session's statement of the same text is not the one closed.
    await b(select('s', 900002));
    await a([f.parse('s', BY_ID), ...select('s', 900002)]);
  });
  expect(pooled).toEqual(direct);
  expect(direct[2]).toEqual(['a', '3', 'E:26000', 'Z:I']);
  expect(direct[4]).toEqual(['b', ...canaryRow]);
});

// A text of its own, so that no connection holds its upstream name yet.
test('two names for one text, prepared in one pipeline, are both bindable', async () => {
  const twin = 'SELECT email AS twin FROM customers WHERE id = $1';
  const { direct, pooled } = await bothWays(async (a) => {
    await a([f.parse('s', twin), f.parse('t', twin), f.sync()]);
    await a(select('s', 900002));
    await a(select('t', 900002));
  });
  expect(direct).toEqual([
    ['a', '1', '1', 'Z:I'],
    ['a', ...canaryRow],
    ['a', ...canaryRow],
  ]);
  expect(pooled).toEqual(direct);
});

test('Close of one of two statements with the same text, then Bind of the other in the same pipeline', async () => {
  const { direct, pooled } = await bothWays(async (a) => {
    await a([f.parse('s', BY_ID), f.parse('t', BY_ID), f.sync()]);
    await a([f.closeStatement('s'), ...select('t', 900002)]);
  });
  expect(direct).toEqual([
    ['a', '1', '1', 'Z:I'],
    ['a', '3', ...canaryRow],
  ]);
  expect(pooled).toEqual(direct);
});

test("DEALLOCATE ALL drops the session's statements, and only its own", async () => {
  const { direct, pooled } = await bothWays(async (a, b) => {
    await a([f.parse('s', BY_ID), f.parse('t', 'SELECT 1'), f.sync()]);
    await b([f.parse('s', BY_ID), f.sync()]);
    await a([f.query('DEALLOCATE ALL')]);
    await a(select('s', 900002));
    await a(select('t', 900002));
    await b(select('s', 900002));
    await a([f.parse('s', BY_ID), ...select('s', 900002)]);
  });
  expect(pooled).toEqual(direct);
  expect(direct[3]).toEqual(['a', 'E:26000', 'Z:I']);
  expect(direct[5]).toEqual(['b', ...canaryRow]);
});

test("DISCARD ALL drops the session's statements and settings, and only its own", async () => {
  const { direct, pooled } = await bothWays(async (a, b) => {
    await a([f.query("SET TimeZone = 'Asia/Tokyo'"), f.parse('s', BY_ID), f.sync()]);
    await b([f.query("SET TimeZone = 'America/Lima'"), f.parse('s', BY_ID), f.sync()]);
    await a([f.query('DISCARD ALL')]);
    await a(select('s', 900002));
    await a([f.query("SELECT current_setting('TimeZone') = reset_val FROM pg_settings WHERE name = 'TimeZone'")]);
    await b([f.query('SHOW TimeZone')]);
    await b(select('s', 900002));
  });
  expect(pooled).toEqual(direct);
  expect(direct[3]).toEqual(['a', 'E:26000', 'Z:I']);
  expect(direct[4]).toEqual(['a', 'T', 'D:["t"]', 'C:SELECT 1', 'Z:I']);
  expect(direct[5]).toEqual(['b', 'T', 'D:["America/Lima"]', 'C:SHOW', 'Z:I']);
});

// Issue #17 point 2 asks that DEALLOCATE behave as on PostgreSQL, where SQL and protocol-level
// statements share one namespace; psycopg 3 deallocates the statements it prepared this way.
test('DEALLOCATE of a statement prepared with Parse drops it, as on PostgreSQL', async () => {
  const { direct, pooled } = await bothWays(async (a) => {
    await a([f.parse('s', BY_ID), f.sync()]);
    await a([f.query('DEALLOCATE s')]);
    await a(select('s', 900002));
  });
  expect(direct).toEqual([
    ['a', '1', 'Z:I'],
    ['a', 'C:DEALLOCATE', 'Z:I'],
    ['a', 'E:26000', 'Z:I'],
  ]);
  expect(pooled).toEqual(direct);
});

test('a statement is described and bound on a connection other than the one it was prepared on', async () => {
  let pooledConnectionsWhileHeld = 0;
  const { direct, pooled } = await bothWays(async (a, b) => {
    await a([f.parse('s', BY_ID), f.sync()]);
    // b holds a connection (the one a just gave back: the warmest) in a transaction.
    await b([f.query('BEGIN'), f.query('SELECT 1')]);
    await a([f.describeStatement('s'), ...select('s', 900002)]);
    pooledConnectionsWhileHeld = await serviceConnections();
    await b([f.query('COMMIT')]);
    await a([f.describeStatement('unknown'), f.sync()]);
    await a([f.bind('unknown'), f.execute(), f.sync()]);
  });
  expect(pooled).toEqual(direct);
  expect(direct[2]).toEqual(['a', 't', 'T', ...canaryRow]);
  expect(direct[4]).toEqual(['a', 'E:26000', 'Z:I']);
  expect(direct[5]).toEqual(['a', 'E:26000', 'Z:I']);
  expect(pooledConnectionsWhileHeld).toBe(2);
});

const serviceConnections = (): Promise<number> => pooled.serviceConnections();
