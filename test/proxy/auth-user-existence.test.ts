/**
 * Authentication never tells whether a user name exists: the first authentication request is the
 * same bytes for a known user, a user without a password and an unknown name, with signed tokens
 * enabled or not, over TLS or not; where SCRAM runs, the decoy's server-first message has the shape
 * and iteration count of a real verifier's. Then real clients log in each way the request allows.
 */
import { SignJWT } from 'jose';
import { Client } from 'pg';
import { execFileSync } from 'node:child_process';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdentityProvider, createTokenVerifier, loadPolicyFiles } from '../../policies';
import { createProxyServer, createScramVerifier, DEFAULT_LIMITS } from '../../proxy';
import { ScramClientExchange } from '../../proxy/auth/scram';
import * as write from '../../proxy/protocol/message-writer';
import { createTestDatabase, PG_HOST, PG_PORT, PG_SUPERUSER, type TestDatabase } from '../support/postgres';

const SECRET = 'a-shared-secret-of-at-least-32-bytes!!';
let dir: string;
let db: TestDatabase;
const servers: Array<() => Promise<void>> = [];
const ports: Record<'tokens' | 'noTokens', number> = { tokens: 0, noTokens: 0 };

async function startServer(tokens: boolean, decoySecret?: Buffer): Promise<number> {
  const bundle = loadPolicyFiles([join(dir, 'policies.yaml')]);
  const identity = createIdentityProvider({
    bundle: () => bundle,
    ...(tokens
      ? {
          tokens: {
            verify: await createTokenVerifier({
              algorithms: ['HS256'],
              keyFile: join(dir, 'hs.key'),
              audience: 'pgveil',
              claims: {},
            }),
            claims: {},
          },
        }
      : {}),
  });
  const server = createProxyServer({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: readFileSync(join(dir, 'c.pem')), key: readFileSync(join(dir, 'k.pem')) },
    limits: { ...DEFAULT_LIMITS, authFailureDelayMs: 10 },
    identity,
    route: () => ({ host: PG_HOST, port: PG_PORT, database: db.name, user: PG_SUPERUSER }),
    gate: {
      check: (sql) => ({
        kind: 'plan',
        sql,
        statementCount: 1,
        rewritten: false,
        relations: [],
        reasons: [],
        effects: [],
        policyVersion: 't',
        stamp: 't',
      }),
      stamp: () => 't',
    },
    observer: { statementFinished: () => undefined, sessionEvent: () => undefined, readyForStatements: () => true },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    ...(decoySecret ? { decoySecret } : {}),
  });
  servers.push(() => server.close());
  return (await server.listen()).port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pgveil-auth-'));
  db = await createTestDatabase('auth_exist');
  writeFileSync(join(dir, 'hs.key'), SECRET);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(dir, 'k.pem'),
      '-out',
      join(dir, 'c.pem'),
    ],
    { stdio: 'ignore' },
  );
  writeFileSync(
    join(dir, 'policies.yaml'),
    `unrestricted: true\nusers:\n  - { name: known, password: "${createScramVerifier('known-password')}" }\n  - { name: tokenonly }\n`,
  );
  ports.tokens = await startServer(true);
  ports.noTokens = await startServer(false);
});

afterAll(async () => {
  for (const close of servers) await close();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Backend frames read off any socket, TLS or not. */
class Frames {
  private buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake?.();
    });
  }
  async next(): Promise<Buffer> {
    for (;;) {
      if (this.buffer.length >= 5 && this.buffer.length >= 1 + this.buffer.readUInt32BE(1)) {
        const end = 1 + this.buffer.readUInt32BE(1);
        const frame = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end);
        return frame;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

async function open(port: number, tls: boolean): Promise<Socket> {
  const plain = connectTcp({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => plain.once('connect', resolve).once('error', reject));
  if (!tls) return plain;
  plain.write(write.sslRequest());
  const answer = await new Promise<Buffer>((resolve) => plain.once('data', resolve));
  expect(answer.toString()).toBe('S');
  const secure = connectTls({ socket: plain, rejectUnauthorized: false });
  await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  return secure;
}

/** The first authentication request, and for SCRAM the server-first message after a client-first. */
async function firstRequest(
  port: number,
  tls: boolean,
  user: string,
): Promise<{ request: Buffer; serverFirst?: string }> {
  const socket = await open(port, tls);
  try {
    const frames = new Frames(socket);
    socket.write(
      write.startupMessage(
        new Map([
          ['user', user],
          ['database', 'x'],
        ]),
      ),
    );
    const request = await frames.next();
    if (request.readInt32BE(5) !== 10) return { request };
    socket.write(write.saslInitialResponse('SCRAM-SHA-256', 'n,,n=,r=clientnonce0123456789'));
    const cont = await frames.next();
    expect(cont.readInt32BE(5)).toBe(11); // AuthenticationSASLContinue
    return { request, serverFirst: cont.subarray(9).toString('utf8') };
  } finally {
    socket.destroy();
  }
}

const SASL_SCRAM = Buffer.concat([
  Buffer.from('R'),
  Buffer.from([0, 0, 0, 23, 0, 0, 0, 10]),
  Buffer.from('SCRAM-SHA-256\0\0'),
]);
const CLEARTEXT = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]);
/** server-first: the client's nonce + 18 random bytes, a 16-byte salt, the iteration count. */
const SERVER_FIRST = /^r=clientnonce0123456789[A-Za-z0-9+/]{24},s=[A-Za-z0-9+/]{22}==,i=4096$/;

describe.each([
  { tokens: false, tls: false, expected: SASL_SCRAM },
  { tokens: false, tls: true, expected: SASL_SCRAM },
  { tokens: true, tls: false, expected: SASL_SCRAM },
  { tokens: true, tls: true, expected: CLEARTEXT },
])('tokens $tokens, TLS $tls', ({ tokens, tls, expected }) => {
  test('the first authentication request is byte for byte the same for a known user, a user without a password and an unknown name', async () => {
    const port = tokens ? ports.tokens : ports.noTokens;
    const answers = await Promise.all(
      ['known', 'tokenonly', 'nobody', 'Known'].map((user) => firstRequest(port, tls, user)),
    );
    for (const a of answers) expect(a.request.toString('hex')).toBe(expected.toString('hex'));
    if (expected === SASL_SCRAM) {
      // The decoy's server-first message has the real one's shape, length and iteration count.
      for (const a of answers) expect(a.serverFirst).toMatch(SERVER_FIRST);
      expect(new Set(answers.map((a) => a.serverFirst!.length))).toEqual(new Set([answers[0]!.serverFirst!.length]));
    }
  });
});

test('a decoy salt is stable per name, as a real salt is, so repeating an attempt tells nothing', async () => {
  const salt = async (user: string): Promise<string> =>
    /,s=([^,]+),/.exec((await firstRequest(ports.noTokens, false, user)).serverFirst!)![1]!;
  expect(await salt('nobody')).toBe(await salt('nobody'));
  expect(await salt('known')).toBe(await salt('known'));
  expect(await salt('nobody')).not.toBe(await salt('somebody-else'));
});

test('replicas sharing a decoy secret give an unknown name the same salt; without it the salt changes per process', async () => {
  const salt = async (port: number, user: string): Promise<string> =>
    /,s=([^,]+),/.exec((await firstRequest(port, false, user)).serverFirst!)![1]!;
  const shared = Buffer.from('a decoy secret every replica of this deployment shares');
  const [a, b] = [await startServer(false, shared), await startServer(false, shared)];
  expect(await salt(a, 'nobody')).toBe(await salt(b, 'nobody'));
  // A real user's salt is the same everywhere too: nothing tells the two apart.
  expect(await salt(a, 'known')).toBe(await salt(b, 'known'));
  // Without a shared secret, an unknown name's salt differs between two processes.
  expect(await salt(ports.noTokens, 'nobody')).not.toBe(await salt(await startServer(false), 'nobody'));
});

describe('logging in', () => {
  const sign = (sub: string, key = SECRET) =>
    new SignJWT({ sub })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('pgveil')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(key));
  const login = async (port: number, user: string, password: string, tls: boolean): Promise<string> => {
    const c = new Client({
      host: '127.0.0.1',
      port,
      user,
      password,
      database: 'x',
      ssl: tls ? { rejectUnauthorized: false } : false,
    });
    try {
      await c.connect();
      const { rows } = await c.query('SELECT 1 AS one');
      await c.end();
      return rows.length === 1 ? 'ok' : 'no rows';
    } catch (error) {
      await c.end().catch(() => undefined);
      return (error as { code?: string }).code ?? (error as Error).message;
    }
  };

  test('tokens over TLS: a password user, a token for a user with or without a password; all failures look alike', async () => {
    const port = ports.tokens;
    expect(await login(port, 'known', 'known-password', true)).toBe('ok');
    expect(await login(port, 'known', await sign('known'), true)).toBe('ok');
    expect(await login(port, 'tokenonly', await sign('tokenonly'), true)).toBe('ok');
    expect(await login(port, 'someone', await sign('someone'), true)).toBe('ok'); // a token names its own user
    expect(await login(port, 'known', 'wrong-password', true)).toBe('28P01');
    expect(await login(port, 'nobody', 'known-password', true)).toBe('28P01');
    expect(await login(port, 'tokenonly', 'any-password', true)).toBe('28P01');
    expect(await login(port, 'known', await sign('tokenonly'), true)).toBe('28P01');
    expect(await login(port, 'nobody', await sign('nobody', 'another-secret-of-at-least-32-bytes!!'), true)).toBe(
      '28P01',
    );
  });

  test('without TLS the request is SCRAM for everyone: passwords work, tokens cannot be sent', async () => {
    expect(await login(ports.tokens, 'known', 'known-password', false)).toBe('ok');
    expect(await login(ports.tokens, 'tokenonly', await sign('tokenonly'), false)).toBe('28P01');
    expect(await login(ports.noTokens, 'known', 'known-password', true)).toBe('ok');
    expect(await login(ports.noTokens, 'nobody', 'known-password', true)).toBe('28P01');
  });

  test('a raw SCRAM exchange for an unknown name fails exactly like a wrong password', async () => {
    const attempt = async (user: string, password: string): Promise<string> => {
      const socket = await open(ports.noTokens, false);
      try {
        const frames = new Frames(socket);
        socket.write(
          write.startupMessage(
            new Map([
              ['user', user],
              ['database', 'x'],
            ]),
          ),
        );
        await frames.next();
        const scram = new ScramClientExchange(password);
        socket.write(write.saslInitialResponse('SCRAM-SHA-256', scram.clientFirst()));
        const cont = await frames.next();
        socket.write(write.saslResponse(scram.clientFinal(cont.subarray(9).toString('utf8'))));
        return (await frames.next()).toString('latin1');
      } finally {
        socket.destroy();
      }
    };
    const wrong = await attempt('known', 'wrong-password');
    expect(wrong).toContain('28P01');
    expect(await attempt('kxown', 'wrong-password')).toBe(wrong.replace('"known"', '"kxown"')); // a name of the same length
  });
});
