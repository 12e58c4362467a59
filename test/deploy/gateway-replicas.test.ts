/**
 * The gateway deployment in miniature: two pgveil processes (the built CLI, `pgveil serve`) share
 * one Redis key prefix, as the replicas of deploy/kubernetes/gateway.yaml do, and each reads its own
 * copy of the policy files, as each pod reads its own projection of the ConfigMap. A grant, a
 * revocation and a policy reload made through replica A take effect on replica B, seen by statements
 * of a real client on B. (B's copy changes by a symlink swap, which B's own watcher also notices
 * since reload follows ConfigMap swaps; the test shows A announcing the version over Redis and B
 * serving it, not which of the two woke B first.) Redis is reached as an ACL user limited to the
 * prefix, with the password from the environment (`redis.passwordEnv`), as in the manifest.
 */
import Redis from 'ioredis';
import { Client } from 'pg';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { startStack, type Stack } from '../support/pgveil-stack';
import { deletePrefix, REDIS_URL, testKeyPrefix } from '../support/redis';

const CLI = join(__dirname, '../../dist/cli/pgveil.js');
const PASSWORD_ENV = 'PGVEIL_TEST_GATEWAY_REDIS_PASSWORD';
const prefix = testKeyPrefix('gateway');
const redisUser = `pgveil-test-gateway-${randomBytes(4).toString('hex')}`;
const redisPassword = randomBytes(16).toString('hex');
const env = { ...process.env, [PASSWORD_ENV]: redisPassword };

interface Replica {
  readonly name: string;
  readonly dir: string;
  readonly config: string;
  readonly port: number;
  readonly adminPort: number;
  readonly process: ChildProcess;
}

let stack: Stack;
let redis: Redis;
let a: Replica;
let b: Replica;
let v1: string;

function replicaConfig(dir: string): string {
  const url = new URL(REDIS_URL);
  url.username = redisUser;
  const config = join(dir, 'pgveil.yaml');
  writeFileSync(
    config,
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      'admin: { port: 0 }',
      'policies: [ policies.yaml ]',
      'audit: { file: audit/audit.jsonl }',
      'events: { sinks: [ { type: file, path: audit/events.jsonl } ] }',
      `redis: { url: "${url.toString()}", passwordEnv: ${PASSWORD_ENV}, keyPrefix: "${prefix}", refreshMs: 100 }`,
      'log: { level: info }',
      '',
    ].join('\n'),
  );
  return config;
}

/** `pgveil serve` as a child process; resolves once it logs that it listens. */
function startReplica(name: string, dir: string): Promise<Replica> {
  const config = replicaConfig(dir);
  const child = spawn('node', [CLI, 'serve', '--config', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    let adminPort = 0;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg: string; port?: number };
      if (entry.msg.startsWith('admin endpoint')) adminPort = entry.port!;
      if (entry.msg === 'pgveil is listening')
        resolve({ name, dir, config, port: entry.port!, adminPort, process: child });
    });
    child.once('exit', (code) => reject(new Error(`replica ${name} exited with ${code}: ${stderr}`)));
  });
}

async function stopReplica(replica: Replica | undefined): Promise<void> {
  if (!replica || replica.process.exitCode !== null) return;
  const exited = new Promise((r) => replica.process.once('exit', r));
  replica.process.kill('SIGTERM');
  await exited;
}

async function analystOn(replica: Replica): Promise<Client> {
  const client = new Client({
    host: '127.0.0.1',
    port: replica.port,
    user: 'analyst',
    password: 'analyst',
    database: 'demo',
  });
  await client.connect();
  return client;
}

const customers = async (client: Client): Promise<number> =>
  (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM customers')).rows[0]!.n;

/** Asks until the answer is `expected` (Redis refreshes and reloads are asynchronous), then asserts it. */
async function eventually(ask: () => Promise<number | string>, expected: number | string): Promise<void> {
  let last = await ask();
  for (let i = 0; i < 200 && last !== expected; i++) {
    await new Promise((r) => setTimeout(r, 50));
    last = await ask();
  }
  expect(last).toBe(expected);
}

async function policyVersion(replica: Replica): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${replica.adminPort}/metrics`)).text();
  return /^pgveil_policy_version_info\{version="([^"]+)"\} 1$/m.exec(text)?.[1] ?? '';
}

const cli = (...args: string[]): Promise<{ stdout: string }> => promisify(execFile)('node', [CLI, ...args], { env });

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  // The replicas' Redis user: only the keys and channels under their prefix.
  await redis.call(
    'ACL',
    'SETUSER',
    redisUser,
    'reset',
    'on',
    `>${redisPassword}`,
    `~${prefix}*`,
    `&${prefix}*`,
    '+@all',
  );
  // The data product, its service account and the demo policies (the stack's own in-process pgveil is not used).
  stack = await startStack('gateway');
  v1 = readFileSync(stack.policiesFile, 'utf8');
  const dirA = join(stack.dir, 'replica-a');
  const dirB = join(stack.dir, 'replica-b');
  mkdirSync(dirA);
  mkdirSync(join(dirB, 'v1'), { recursive: true });
  writeFileSync(join(dirA, 'policies.yaml'), v1);
  // B's policy file is a symbolic link to a versioned folder, like a ConfigMap volume's projection.
  writeFileSync(join(dirB, 'v1', 'policies.yaml'), v1);
  symlinkSync('v1/policies.yaml', join(dirB, 'policies.yaml'));
  for (const dir of [dirA, dirB]) copyFileSync(join(stack.dir, 'service.password'), join(dir, 'service.password'));
  [a, b] = await Promise.all([startReplica('a', dirA), startReplica('b', dirB)]);
});

afterAll(async () => {
  await Promise.all([stopReplica(a), stopReplica(b)]);
  await stack?.stop();
  await redis.call('ACL', 'DELUSER', redisUser);
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

test('two replicas serve the same policies', async () => {
  for (const replica of [a, b]) {
    const analyst = await analystOn(replica);
    expect(await customers(analyst)).toBe(333); // region EU
    await analyst.end();
  }
});

test('a grant and a revocation made through replica A take effect on replica B mid-session', async () => {
  const onB = await analystOn(b);
  try {
    expect(await customers(onB)).toBe(333);
    expect((await cli('grant', 'analyst', 'region', 'US', '--for', '1h', '--config', a.config)).stdout).toBe(
      'granted region=US to analyst for 1h\n',
    );
    await eventually(() => customers(onB), 333 + 334);
    expect((await cli('revoke', 'analyst', 'region', 'US', '--config', a.config)).stdout).toBe('revoked 1 grant(s)\n');
    await eventually(() => customers(onB), 333);
  } finally {
    await onB.end();
  }
});

test('a policy change loaded by replica A is announced over Redis and replica B reloads it', async () => {
  // The governance board nulls e-mail addresses instead of masking them.
  const v2 = v1.replace('action: { kind: mask_email }', 'action: { kind: "null" }');
  expect(v2).not.toBe(v1);
  const emails = async (client: Client): Promise<number> =>
    (await client.query<{ n: number }>('SELECT count(email)::int AS n FROM customers')).rows[0]!.n;
  const [versionOfA, versionOfB] = [await policyVersion(a), await policyVersion(b)];
  const listener = new Redis(REDIS_URL);
  const announced: string[] = [];
  listener.on('message', (_channel: string, version: string) => announced.push(version));
  await listener.subscribe(`${prefix}policy-reload`);
  const onB = await analystOn(b);
  try {
    expect(await emails(onB)).toBe(333);
    // B's projection switches to the new version in one rename, as the kubelet swaps `..data`.
    mkdirSync(join(b.dir, 'v2'));
    writeFileSync(join(b.dir, 'v2', 'policies.yaml'), v2);
    symlinkSync('v2/policies.yaml', join(b.dir, 'policies.next'));
    renameSync(join(b.dir, 'policies.next'), join(b.dir, 'policies.yaml'));
    // The change arrives at A; A loads it and announces its version. (B, having noticed its own
    // copy change, may announce too: versions name the files' paths, which differ here.)
    writeFileSync(join(a.dir, 'policies.yaml'), v2);
    await eventually(async () => ((await policyVersion(a)) === versionOfA ? 'running v1' : 'running v2'), 'running v2');
    const versionOfA2 = await policyVersion(a);
    await eventually(async () => (announced.includes(versionOfA2) ? 'announced' : 'not announced'), 'announced');
    await eventually(() => emails(onB), 0); // on B's open session
    expect(await policyVersion(b)).not.toBe(versionOfB);
  } finally {
    await onB.end();
    listener.disconnect();
  }
});

test('a replica whose Redis password variable is not set refuses to start, naming the variable', async () => {
  const { [PASSWORD_ENV]: _unset, ...withoutPassword } = env;
  const failed = await promisify(execFile)('node', [CLI, 'serve', '--config', a.config], { env: withoutPassword }).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  );
  expect(failed).toMatchObject({
    code: 1,
    stderr: `pgveil: redis.passwordEnv names "${PASSWORD_ENV}", which is not set\n`,
  });
});
