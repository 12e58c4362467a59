/**
 * The audit of a running pgveil: a record names the principal as it decided (attributes with their
 * sources, Redis grants with their expiry, the purpose) and the rules, and the chain's checkpoints
 * reach the events file and Redis, so that `pgveil audit verify --checkpoints` finds a cut tail.
 */
import Redis from 'ioredis';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { RedisAttributeSource } from '../../policies';
import { loadServerConfig } from '../../cli/config/load-server-config';
import { startPgveil } from '../../cli/runtime/start-pgveil';
import { startStack, type Stack } from '../support/pgveil-stack';
import { deletePrefix, REDIS_URL, testKeyPrefix } from '../support/redis';
import { waitForText } from '../support/wait-for-text';

const CLI = join(__dirname, '../../dist/cli/pgveil.js');
const prefix = testKeyPrefix('audit-e2e');
let stack: Stack;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  stack = await startStack('audit_e2e', { redisPrefix: prefix });
});
afterAll(async () => {
  await stack.stop();
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

type AuditRecord = Record<string, unknown> & { statement: string; principal: Record<string, unknown> };
const records = (file: string): AuditRecord[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditRecord);

test('a record carries the principal as it decided: sources, a Redis grant with its expiry, the purpose, and the rules', async () => {
  const attributes = new RedisAttributeSource(redis, { keyPrefix: prefix, refreshMs: 100, maxStaleMs: 60_000 });
  attributes.close();
  await attributes.setAttribute('analyst', 'department', 'sales');
  const count = 'SELECT count(*)::int AS n FROM customers';
  const analyst = await stack.connect('analyst', '-c pgveil.purpose=churn-study');
  let granted: number;
  try {
    expect((await analyst.query(count)).rows[0].n).toBe(333);
    granted = Date.now();
    await attributes.grant('analyst', 'region', 'US', 3600);
    // The grant counts from the statement after the next refresh (100 ms): EU and US rows then.
    let n = 0;
    for (let i = 0; i < 100 && n !== 667; i++) n = (await analyst.query(count)).rows[0].n as number;
    expect(n).toBe(667);
  } finally {
    await analyst.end();
  }
  const counted = records(stack.auditFile).filter((r) => r.statement === count);
  const [first, last] = [counted[0]!, counted[counted.length - 1]!];
  // Same session, same statement, two answers: the records say which attributes made the difference.
  expect(first.principal).toEqual({
    attributes: { department: 'sales', region: 'EU' },
    groups: ['analysts'],
    purpose: 'churn-study',
    sources: { attributes: { department: 'redis', region: 'users-file' }, groups: { analysts: 'users-file' } },
    grants: [],
  });
  const expiresAt = Date.parse((last.principal.grants as Array<{ expiresAt: string }>)[0]!.expiresAt);
  expect(expiresAt).toBeGreaterThan(granted + 3_598_000);
  expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
  expect(last).toMatchObject({
    user: 'analyst',
    dataProduct: 'demo',
    decision: 'rewritten',
    relations: ['public.customers'],
    rules: ['mask-pii', 'sales-region-rows'],
    rows: 1,
    principal: {
      attributes: { department: 'sales', region: ['EU', 'US'] },
      groups: ['analysts'],
      purpose: 'churn-study',
      sources: { attributes: { department: 'redis', region: 'users-file' }, groups: { analysts: 'users-file' } },
      grants: [{ attribute: 'region', value: 'US', expiresAt: new Date(expiresAt).toISOString() }],
    },
  });
  expect(last.reasons).toContainEqual({
    rule: 'sales-region-rows',
    scope: 'domain',
    column: null,
    effect: 'filter rows',
  });
  expect(last.reasons).toContainEqual({ rule: 'mask-pii', scope: 'global', column: 'email', effect: 'mask_email' });
});

test('checkpoints reach the events file and Redis; audit verify --checkpoints passes, then finds a cut tail', async () => {
  // A second pgveil on the same data product, with a keyed log and a checkpoint every second.
  const config = readFileSync(join(stack.dir, 'pgveil.yaml'), 'utf8')
    .replace(
      'audit: { file: audit/audit.jsonl }',
      'audit: { file: keyed/audit.jsonl, secretEnv: PGVEIL_TEST_AUDIT_KEY, checkpointSeconds: 1, logName: keyed-log }',
    )
    .replace('path: audit/events.jsonl', 'path: keyed/events.jsonl');
  writeFileSync(join(stack.dir, 'keyed.yaml'), config);
  process.env.PGVEIL_TEST_AUDIT_KEY = 'the-audit-key';
  const pgveil = await startPgveil(loadServerConfig(join(stack.dir, 'keyed.yaml')), pino({ level: 'silent' }));
  const client = new Client({
    host: '127.0.0.1',
    port: pgveil.port,
    user: 'analyst',
    password: 'analyst',
    database: 'demo',
  });
  await client.connect();
  for (let i = 1; i <= 4; i++) await client.query(`SELECT email FROM customers WHERE id = ${i}`);
  await client.end();
  await pgveil.close();
  const auditFile = join(stack.dir, 'keyed/audit.jsonl');
  const eventsFile = join(stack.dir, 'keyed/events.jsonl');
  const lines = readFileSync(auditFile, 'utf8').trim().split('\n');
  const head = (JSON.parse(lines[lines.length - 1]!) as { hash: string }).hash;
  const events = readFileSync(eventsFile, 'utf8')
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          kind: string;
          reasons: string[];
          checkpoint?: { records: number; head: string; log: string };
        },
    );
  const shutdown = events.find((e) => e.kind === 'audit_checkpoint' && e.reasons[0] === 'shutdown')!;
  expect(shutdown.checkpoint).toMatchObject({ log: 'keyed-log', records: lines.length, head });
  expect(events.find((e) => e.kind === 'audit_checkpoint' && e.reasons[0] === 'start')!.checkpoint).toMatchObject({
    records: 0,
  });
  // The same checkpoint in Redis.
  const stream = (await redis.xrange(`${prefix}audit-checkpoints`, '-', '+')).map(
    ([, fields]) => JSON.parse(fields[1]!) as unknown,
  );
  expect(stream).toContainEqual(shutdown.checkpoint);

  const env = { ...process.env, PGVEIL_TEST_AUDIT_KEY: 'the-audit-key' };
  const verify = (...files: string[]) =>
    promisify(execFile)(
      'node',
      [CLI, 'audit', 'verify', '--secret-env', 'PGVEIL_TEST_AUDIT_KEY', '--checkpoints', eventsFile, ...files],
      { env },
    );
  const ok = await verify(auditFile);
  expect(ok.stdout).toMatch(
    new RegExp(
      `^ok: ${lines.length} records, chain intact, last hash ${head}; \\d+ checkpoints matched, the latest: (shutdown|interval) checkpoint of \\S+, at record ${lines.length}\\n$`,
    ),
  );
  // The last record cut: the chain alone still verifies, the checkpoints do not.
  const cut = join(stack.dir, 'keyed/cut.jsonl');
  writeFileSync(cut, `${lines.slice(0, -1).join('\n')}\n`);
  await expect(verify(cut)).rejects.toMatchObject({
    code: 1,
    stdout: expect.stringMatching(
      new RegExp(
        `^tampered: the \\w+ checkpoint of \\S+ counts ${lines.length} records but the log has ${lines.length - 1}`,
      ),
    ),
  });
  // A forged checkpoint in the events file: refused.
  writeFileSync(
    join(stack.dir, 'keyed/forged.jsonl'),
    JSON.stringify({ kind: 'audit_checkpoint', checkpoint: { ...shutdown.checkpoint, records: lines.length - 1 } }) +
      '\n',
  );
  await expect(
    promisify(execFile)(
      'node',
      [
        CLI,
        'audit',
        'verify',
        '--secret-env',
        'PGVEIL_TEST_AUDIT_KEY',
        '--checkpoints',
        join(stack.dir, 'keyed/forged.jsonl'),
        cut,
      ],
      { env },
    ),
  ).rejects.toMatchObject({
    code: 1,
    stdout: expect.stringMatching(
      /^tampered: shutdown checkpoint of \S+: its signature does not match the audit key: forged\n$/,
    ),
  });
});

test('a running pgveil sends interval and rotation checkpoints too, to the events file and Redis alike', async () => {
  // Rotation at the smallest size allowed, and a checkpoint every second while records are written.
  const config = readFileSync(join(stack.dir, 'pgveil.yaml'), 'utf8')
    .replace(
      'audit: { file: audit/audit.jsonl }',
      'audit: { file: rotating/audit.jsonl, secretEnv: PGVEIL_TEST_AUDIT_KEY, checkpointSeconds: 1, rotateBytes: 4096, logName: rotating-log }',
    )
    .replace('path: audit/events.jsonl', 'path: rotating/events.jsonl');
  writeFileSync(join(stack.dir, 'rotating.yaml'), config);
  process.env.PGVEIL_TEST_AUDIT_KEY = 'the-audit-key';
  const pgveil = await startPgveil(loadServerConfig(join(stack.dir, 'rotating.yaml')), pino({ level: 'silent' }));
  const auditFile = join(stack.dir, 'rotating/audit.jsonl');
  const eventsFile = join(stack.dir, 'rotating/events.jsonl');
  const client = new Client({
    host: '127.0.0.1',
    port: pgveil.port,
    user: 'analyst',
    password: 'analyst',
    database: 'demo',
  });
  await client.connect();
  try {
    await client.query('SELECT email FROM customers WHERE id = 1');
    // Waits for the condition, not for a time: the next interval checkpoint after a record.
    expect(await waitForText(eventsFile, '"reasons":["interval"]', 30_000)).toContain('"reasons":["interval"]');
    for (let i = 2; i <= 40 && !existsSync(`${auditFile}.000001`); i++)
      await client.query(`SELECT email FROM customers WHERE id = ${i}`);
  } finally {
    await client.end();
    await pgveil.close();
  }
  const files = [`${auditFile}.000001`, auditFile];
  const linesOf = (file: string): string[] => readFileSync(file, 'utf8').trim().split('\n');
  const rotated = linesOf(files[0]!);
  const all = [...rotated, ...linesOf(auditFile)];
  const hashOf = (line: string): string => (JSON.parse(line) as { hash: string }).hash;
  type Checkpoint = { log: string; records: number; head: string; reason: string; signature: string };
  const sent = readFileSync(eventsFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; checkpoint?: Checkpoint })
    .filter((e) => e.kind === 'audit_checkpoint')
    .map((e) => e.checkpoint!);
  expect([...new Set(sent.map((c) => c.reason))].sort()).toEqual(['interval', 'rotation', 'shutdown', 'start']);
  for (const c of sent)
    expect(c).toMatchObject({ log: 'rotating-log', signature: expect.stringMatching(/^[0-9a-f]{64}$/) });
  // The rotation names the head the finished file ends with; the shutdown the head of the whole chain.
  expect(sent.find((c) => c.reason === 'rotation')).toMatchObject({
    records: rotated.length,
    head: hashOf(rotated[rotated.length - 1]!),
  });
  expect(sent.find((c) => c.reason === 'shutdown')).toMatchObject({
    records: all.length,
    head: hashOf(all[all.length - 1]!),
  });
  // Every checkpoint of this log also reached the Redis stream.
  const stream = (await redis.xrange(`${prefix}audit-checkpoints`, '-', '+'))
    .map(([, fields]) => JSON.parse(fields[1]!) as Checkpoint)
    .filter((c) => c.log === 'rotating-log');
  expect(stream).toEqual(sent);

  const env = { ...process.env, PGVEIL_TEST_AUDIT_KEY: 'the-audit-key' };
  const verify = (...args: string[]) =>
    promisify(execFile)('node', [CLI, 'audit', 'verify', '--secret-env', 'PGVEIL_TEST_AUDIT_KEY', ...args], { env });
  expect((await verify('--checkpoints', eventsFile, ...files)).stdout).toMatch(
    new RegExp(
      `^ok: ${all.length} records, chain intact, last hash ${hashOf(all[all.length - 1]!)}; ${sent.length} checkpoints matched, the latest: shutdown checkpoint of \\S+, at record ${all.length}\\n$`,
    ),
  );
  // The newest file deleted: what is left is a valid chain, which the checkpoints show is cut.
  await expect(verify('--checkpoints', eventsFile, files[0]!)).rejects.toMatchObject({
    code: 1,
    stdout: expect.stringMatching(
      new RegExp(
        `^tampered: the shutdown checkpoint of \\S+ counts ${all.length} records but the log has ${rotated.length}: `,
      ),
    ),
  });
});
