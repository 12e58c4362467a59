/** Framing, malformed input and isolation: a misbehaving session never disturbs another one. */
import { Client } from 'pg';
import { FrontendDecoder } from '../../proxy/protocol/frontend-decoder';
import * as write from '../../proxy/protocol/message-writer';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startProxyHarness, type ProxyHarness } from '../support/proxy-harness';
import { RawClient, errorFields } from '../support/raw-client';

let db: TestDatabase;
let proxy: ProxyHarness;

beforeAll(async () => {
  db = await createTestDatabase('proxy_raw');
  proxy = await startProxyHarness(db.name, { limits: { maxMessageBytes: 64 * 1024 } });
});

afterAll(async () => {
  await proxy.stop();
  await db.drop();
});

const bind = (portal: string, statement: string): Buffer =>
  write.frame(0x42, Buffer.concat([Buffer.from(`${portal}\0${statement}\0`), Buffer.from([0, 0, 0, 0, 0, 0])]));
const execute = (portal: string): Buffer =>
  write.frame(0x45, Buffer.concat([Buffer.from(`${portal}\0`), Buffer.from([0, 0, 0, 0])]));
const sync = (): Buffer => write.frame(0x53, Buffer.alloc(0));

test('every frontend message split at every byte boundary decodes to the same frames', () => {
  const stream = Buffer.concat([
    write.query("SELECT 1; SELECT 'ü'"),
    write.parse('s1', 'SELECT $1::int', Buffer.from([0, 1, 0, 0, 0, 23])),
    bind('p1', 's1'),
    write.frame(0x44, Buffer.from('Pp1\0')),
    execute('p1'),
    write.frame(0x48, Buffer.alloc(0)),
    sync(),
    write.frame(0x43, Buffer.from('Ss1\0')),
    write.terminate(),
  ]);
  const whole = decodeAll([stream]);
  expect(whole.map((f) => String.fromCharCode(f[0]!)).join('')).toBe('QPBDEHSCX');
  for (let cut = 1; cut < stream.length; cut++) {
    expect(decodeAll([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(whole);
  }
  // One byte at a time.
  expect(decodeAll([...stream].map((b) => Buffer.from([b])))).toEqual(whole);
});

function decodeAll(chunks: Buffer[]): Buffer[] {
  const d = new FrontendDecoder(1 << 20);
  d.endStartupPhase();
  const out: Buffer[] = [];
  for (const c of chunks) {
    d.push(c);
    for (let m = d.next(); m; m = d.next()) out.push(Buffer.from(m.frame));
  }
  return out;
}

test('a startup message split at every byte reaches authentication', async () => {
  const startup = write.startupMessage(
    new Map([
      ['user', 'analyst'],
      ['database', db.name],
    ]),
  );
  for (const cut of [1, 3, 4, 7, 8, startup.length - 1]) {
    const c = await RawClient.open(proxy.port);
    c.send(startup.subarray(0, cut));
    await new Promise((r) => setTimeout(r, 5));
    c.send(startup.subarray(cut));
    const auth = await c.expect('R');
    expect(auth.body.readInt32BE(0)).toBe(10); // AuthenticationSASL
    c.close();
  }
});

describe('malformed input ends only the offending session with 08P01', () => {
  let bystander: Client;
  beforeAll(async () => {
    bystander = new Client({
      host: '127.0.0.1',
      port: proxy.port,
      user: 'analyst',
      password: 'analyst',
      database: db.name,
    });
    await bystander.connect();
  });
  afterAll(() => bystander.end());

  const cases: Array<[string, Buffer]> = [
    ['a message length below 4', Buffer.from([0x51, 0, 0, 0, 2])],
    ['an unknown message type', write.frame(0x7a, Buffer.from('hello'))],
    ['a FunctionCall message', write.frame(0x46, Buffer.from([0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1]))],
    ['a Query without its terminator', write.frame(0x51, Buffer.from('SELECT 1'))],
    ['a message over the size limit', Buffer.from([0x51, 0, 0x10, 0, 0])],
    ['a Parse with a truncated parameter list', write.frame(0x50, Buffer.from('s\0SELECT 1\0\0\x05'))],
  ];

  test.each(cases)('%s', async (_name, bytes) => {
    const c = await RawClient.session(proxy.port, db.name);
    c.send(bytes);
    const frames = await c.drainToClose();
    const error = frames.find((f) => f.code === 'E');
    expect(error && errorFields(error).get('C')).toBe('08P01');
    expect(error && errorFields(error).get('S')).toBe('FATAL');
    expect(c.closed).toBe(true);
    expect((await bystander.query('SELECT 7 AS still_here')).rows).toEqual([{ still_here: 7 }]);
  });

  test('a startup packet with an absurd length', async () => {
    const c = await RawClient.open(proxy.port);
    c.send(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]));
    const frames = await c.drainToClose();
    expect(frames.map((f) => errorFields(f).get('C'))).toEqual(['08P01']);
    expect((await bystander.query('SELECT 8 AS still_here')).rows).toEqual([{ still_here: 8 }]);
  });

  test('a protocol version other than 3.0', async () => {
    const c = await RawClient.open(proxy.port);
    c.send(Buffer.from([0, 0, 0, 8, 0, 2, 0, 0]));
    const frames = await c.drainToClose();
    expect(frames.map((f) => errorFields(f).get('C'))).toEqual(['0A000']);
  });
});

test('extended protocol: a refused Parse and everything up to Sync fail as in PostgreSQL, in order', async () => {
  const c = await RawClient.session(proxy.port, db.name);
  try {
    c.send(
      Buffer.concat([
        write.parse('ok', 'SELECT 1 AS a', Buffer.from([0, 0])),
        bind('', 'ok'),
        execute(''),
        write.parse('bad', 'SELECT 2 -- PGVEIL_REFUSE', Buffer.from([0, 0])),
        bind('', 'bad'),
        execute(''),
        sync(),
        bind('', 'bad'),
        execute(''),
        sync(),
      ]),
    );
    const first = await c.until('Z');
    expect(first.map((f) => f.code).join('')).toBe('12DCEZ');
    expect(errorFields(first[4]!).get('C')).toBe('42501');
    const second = await c.until('Z');
    expect(second.map((f) => f.code).join('')).toBe('EZ');
    expect(errorFields(second[0]!).get('C')).toBe('26000'); // the refused statement was never prepared
  } finally {
    c.close();
  }
});
