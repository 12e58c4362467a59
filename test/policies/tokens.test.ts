/** Signed tokens as passwords: HS256, RS256, ES256 (JWKS); expiry, audience and subject enforced; over TLS only. */
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { Client } from 'pg';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenVerifier, createIdentityProvider, loadPolicyFiles } from '../../policies';
import { createProxyServer, DEFAULT_LIMITS } from '../../proxy';
import { createTestDatabase, PG_HOST, PG_PORT, PG_SUPERUSER, type TestDatabase } from '../support/postgres';

let dir: string;
const secret = 'a-shared-secret-of-at-least-32-bytes!!';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgveil-tokens-'));
  writeFileSync(join(dir, 'hs.key'), secret);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sign = (
  claims: Record<string, unknown>,
  alg: string,
  key: Uint8Array | Parameters<SignJWT['sign']>[0],
  exp = '5m',
) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg, kid: 'k1' })
    .setAudience('pgveil')
    .setExpirationTime(exp)
    .setIssuedAt()
    .sign(key);

test('HS256: valid, expired, wrong audience, wrong subject', async () => {
  const verify = await createTokenVerifier({
    algorithms: ['HS256'],
    keyFile: join(dir, 'hs.key'),
    audience: 'pgveil',
    claims: {},
  });
  const key = new TextEncoder().encode(secret);
  expect(await verify('ana', await sign({ sub: 'ana' }, 'HS256', key))).toMatchObject({
    ok: true,
    claims: { sub: 'ana', aud: 'pgveil' },
  });
  expect(await verify('ana', await sign({ sub: 'ana' }, 'HS256', key, '-1m'))).toMatchObject({
    ok: false,
    reason: expect.stringContaining('exp'),
  });
  const otherAudience = await new SignJWT({ sub: 'ana' })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience('other')
    .setExpirationTime('5m')
    .sign(key);
  expect(await verify('ana', otherAudience)).toMatchObject({ ok: false, reason: expect.stringContaining('aud') });
  expect(await verify('bob', await sign({ sub: 'ana' }, 'HS256', key))).toEqual({
    ok: false,
    reason: 'token is for another user',
  });
  expect(await verify('ana', 'not-a-token')).toMatchObject({ ok: false });
});

test('RS256 with a PEM key and ES256 with a JWKS file', async () => {
  const rsa = await generateKeyPair('RS256');
  writeFileSync(join(dir, 'rs.pem'), await exportSPKI(rsa.publicKey));
  const rs = await createTokenVerifier({
    algorithms: ['RS256'],
    keyFile: join(dir, 'rs.pem'),
    audience: 'pgveil',
    claims: {},
  });
  expect(await rs('ana', await sign({ sub: 'ana' }, 'RS256', rsa.privateKey))).toMatchObject({ ok: true });
  const ec = await generateKeyPair('ES256');
  writeFileSync(
    join(dir, 'jwks.json'),
    JSON.stringify({ keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'k1', alg: 'ES256' }] }),
  );
  const es = await createTokenVerifier({
    algorithms: ['ES256'],
    jwksFile: join(dir, 'jwks.json'),
    audience: 'pgveil',
    claims: {},
  });
  expect(await es('ana', await sign({ sub: 'ana' }, 'ES256', ec.privateKey))).toMatchObject({ ok: true });
  // A token signed by another key fails.
  const other = await generateKeyPair('ES256');
  expect(await es('ana', await sign({ sub: 'ana' }, 'ES256', other.privateKey))).toMatchObject({ ok: false });
});

describe('through the proxy', () => {
  let db: TestDatabase;
  let port = 0;
  let close: () => Promise<void>;
  const principals: unknown[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('tokens');
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
    writeFileSync(join(dir, 'policies.yaml'), 'unrestricted: true\nusers: []\n');
    const bundle = loadPolicyFiles([join(dir, 'policies.yaml')]);
    const identity = createIdentityProvider({
      bundle: () => bundle,
      tokens: {
        verify: await createTokenVerifier({
          algorithms: ['HS256'],
          keyFile: join(dir, 'hs.key'),
          audience: 'pgveil',
          claims: { region: 'region', groups: 'groups' },
        }),
        claims: { region: 'region', groups: 'groups' },
      },
    });
    const server = createProxyServer({
      host: '127.0.0.1',
      port: 0,
      tls: { cert: readFileSync(join(dir, 'c.pem')), key: readFileSync(join(dir, 'k.pem')) },
      limits: { ...DEFAULT_LIMITS, authFailureDelayMs: 10 },
      identity,
      route: () => ({ host: PG_HOST, port: PG_PORT, database: db.name, user: PG_SUPERUSER }),
      gate: {
        check: (sql, session) => {
          principals.push(session.principal);
          return {
            kind: 'plan',
            sql,
            statementCount: 1,
            rewritten: false,
            relations: [],
            reasons: [],
            effects: [],
            policyVersion: 't',
            stamp: 't',
          };
        },
        stamp: () => 't',
      },
      observer: { statementFinished: () => undefined, sessionEvent: () => undefined, readyForStatements: () => true },
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    port = (await server.listen()).port;
    close = () => server.close();
  });
  afterAll(async () => {
    await close();
    await db.drop();
  });

  test('a token is accepted as the password over TLS, and its claims become attributes and groups', async () => {
    const token = await sign(
      { sub: 'ana', region: 'EU', groups: ['analysts'] },
      'HS256',
      new TextEncoder().encode(secret),
    );
    const c = new Client({
      host: '127.0.0.1',
      port,
      user: 'ana',
      password: token,
      database: 'x',
      ssl: { rejectUnauthorized: false },
    });
    await c.connect();
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await c.end();
    // With where each came from, for the audit record.
    expect(principals[0]).toEqual({
      user: 'ana',
      groups: ['analysts'],
      attributes: { region: 'EU' },
      provenance: { attributes: { region: 'token' }, groups: { analysts: 'token' }, grants: [] },
      // Kept so that a users-file reload rebuilds the rest and the token's part stays.
      token: { attributes: { region: 'EU' }, groups: ['analysts'] },
    });
  });

  test('without TLS no cleartext password is asked for, so a token cannot be sent', async () => {
    const token = await sign({ sub: 'ana' }, 'HS256', new TextEncoder().encode(secret));
    const c = new Client({ host: '127.0.0.1', port, user: 'ana', password: token, database: 'x', ssl: false });
    await expect(c.connect()).rejects.toMatchObject({ code: '28P01' });
  });
});
