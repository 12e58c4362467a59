/**
 * Upstream reachability as an operator sees it: one warning on the main log per change to
 * unreachable, naming data product, host and port and no credential; /readyz and the metrics from
 * the state pgveil keeps, following data products that a policy reload adds or removes.
 *
 * The data product's upstream is the machine's PostgreSQL behind a TCP relay that the test opens
 * and closes, so "unreachable" is a real refused connection.
 */
import { Client } from 'pg';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../ops';
import { startStack, type Stack } from '../support/pgveil-stack';
import { PG_HOST, PG_PORT } from '../support/postgres';

/** A TCP relay to the machine's PostgreSQL on a fixed port, which can be closed and reopened. */
class Relay {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  /** Connections accepted since the relay was made: every connection pgveil opens to its upstream. */
  accepted = 0;
  constructor(readonly port: number) {}

  static async onFreePort(): Promise<Relay> {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((r) => probe.close(() => r()));
    return new Relay(port);
  }

  async open(): Promise<void> {
    this.server = createServer((client) => {
      this.accepted++;
      const upstream = connect(PG_PORT, PG_HOST);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined).on('close', () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly dataProduct?: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly reason?: string;
}

const WARN = 40;
const INFO = 30;
const ERROR = 50;

describe('upstream reachability', () => {
  const out: string[] = [];
  const lines = (): LogLine[] =>
    out
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogLine);
  const about = (product: string, level: number): LogLine[] =>
    lines().filter((l) => l.dataProduct === product && l.level === level);
  let relay: Relay;
  let deadPort: number;
  let stack: Stack;
  let originalPolicies: string;
  const extraPassword = `never-logged-${randomBytes(6).toString('hex')}`;

  const readyz = async (): Promise<{
    status: number;
    body: { status: string; checks: Record<string, boolean>; problems?: Record<string, string> };
  }> => {
    const response = await fetch(`http://127.0.0.1:${stack.pgveil.adminPort}/readyz`);
    return {
      status: response.status,
      body: (await response.json()) as {
        status: string;
        checks: Record<string, boolean>;
        problems?: Record<string, string>;
      },
    };
  };
  const upMetric = async (): Promise<string[]> =>
    (await (await fetch(`http://127.0.0.1:${stack.pgveil.adminPort}/metrics`)).text())
      .split('\n')
      .filter((l) => l.startsWith('pgveil_upstream_up{'));

  beforeAll(async () => {
    relay = await Relay.onFreePort();
    deadPort = (await Relay.onFreePort()).port;
    const logger = createLogger(
      'info',
      new Writable({ write: (chunk: Buffer, _e, cb) => (out.push(chunk.toString()), cb()) }),
    );
    // Started while the relay is closed: the data product is unreachable from the first moment.
    stack = await startStack('upstream-health', {
      policyYaml: (demo) => demo.replace(`port: ${PG_PORT}`, `port: ${relay.port}`),
      configLines: ['admin: { port: 0 }', 'upstreamProbe: { intervalMs: 600000, timeoutMs: 2000 }'],
      logger,
    });
    originalPolicies = readFileSync(stack.policiesFile, 'utf8');
  });
  afterAll(async () => {
    await stack.stop();
    await relay.close();
  });

  test('an upstream down at start: one warning with product, host and port, before "listening"', async () => {
    const warnings = about('demo', WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      host: '127.0.0.1',
      port: relay.port,
      database: stack.db.name,
      msg: `upstream of data product "demo" at 127.0.0.1:${relay.port} is unreachable: its statements fail until it is back`,
    });
    expect(warnings[0]!.reason).toContain('ECONNREFUSED');
    const all = lines();
    expect(all.indexOf(warnings[0]!)).toBeLessThan(all.findIndex((l) => l.msg === 'pgveil is listening'));
    const { status, body } = await readyz();
    expect(status).toBe(503);
    expect(body.checks).toEqual({ policies: true, audit: true, 'upstream:demo': false });
    expect(body.problems?.['upstream:demo']).toMatch(/^unreachable since \d{4}-\d\d-\d\dT[\d:.]+Z: .*ECONNREFUSED/);
    expect(await upMetric()).toEqual(['pgveil_upstream_up{data_product="demo"} 0']);
    // Still down at the next checks: nothing more is logged.
    for (let i = 0; i < 3; i++) await stack.pgveil.upstreams.probeAll();
    expect(about('demo', WARN)).toHaveLength(1);
  });

  test('back: one info line, ready, statements run, and provisioning is checked now that it can be', async () => {
    // Broken while pgveil could not see it: the keyed hash's schema is no longer usable.
    const admin = new Client(stack.db.config());
    await admin.connect();
    await admin.query(`REVOKE USAGE ON SCHEMA pgveil FROM ${stack.serviceRole}`);
    try {
      await relay.open();
      await stack.pgveil.upstreams.probeAll();
      await stack.pgveil.upstreams.probeAll();
      for (let i = 0; i < 250 && about('demo', ERROR).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(about('demo', ERROR).map((l) => l.msg)).toEqual([
        `data product "demo" (127.0.0.1:${relay.port}/${stack.db.name}): the service account has no USAGE on the helper schema "pgveil"; fix: pgveil provision --config ${join(stack.dir, 'pgveil.yaml')} --product demo`,
      ]);
    } finally {
      await admin.query(`GRANT USAGE ON SCHEMA pgveil TO ${stack.serviceRole}`);
      await admin.end();
    }
    expect(about('demo', INFO).map((l) => l.msg)).toEqual([
      `upstream of data product "demo" at 127.0.0.1:${relay.port} is reachable again`,
    ]);
    expect(await readyz()).toEqual({
      status: 200,
      body: { status: 'ready', checks: { policies: true, audit: true, 'upstream:demo': true } },
    });
    expect(await upMetric()).toEqual(['pgveil_upstream_up{data_product="demo"} 1']);
    // Readiness is read from the state kept: probes of /readyz open no connection upstream (no
    // catalog refresh, no check of their own).
    const accepted = relay.accepted;
    for (let i = 0; i < 5; i++) expect((await readyz()).status).toBe(200);
    expect(relay.accepted).toBe(accepted);
    const analyst = await stack.connect('analyst');
    try {
      expect((await analyst.query('SELECT count(*)::int AS n FROM customers')).rows).toEqual([{ n: 333 }]); // the analyst's region (EU)
    } finally {
      await analyst.end();
    }
  });

  test('down later, seen by a catalog load before any probe runs: one more warning', async () => {
    await relay.close();
    await expect(stack.pgveil.catalogs.refresh('demo')).rejects.toThrow();
    expect(stack.pgveil.upstreams.state('demo')).toMatchObject({ status: 'unreachable' });
    expect(about('demo', WARN)).toHaveLength(2);
    expect((await readyz()).status).toBe(503);
    await stack.pgveil.upstreams.probeAll();
    expect(about('demo', WARN)).toHaveLength(2);
    await relay.open();
    await stack.pgveil.catalogs.refresh('demo');
    expect(stack.pgveil.upstreams.state('demo')).toMatchObject({ status: 'reachable' });
    expect(about('demo', INFO)).toHaveLength(2);
    expect((await readyz()).status).toBe(200);
  });

  test('a reload that adds data products checks them at once; one that removes them stops reporting them', async () => {
    const added = originalPolicies.replace(
      'dataProducts:\n',
      `dataProducts:
  - name: extra
    domain: sales
    upstream: { host: 127.0.0.1, port: ${deadPort}, database: nowhere, user: nobody, password: "${extraPassword}" }
  - name: mirror
    domain: sales
    upstream: { host: ${PG_HOST}, port: ${PG_PORT}, database: ${stack.db.name}, user: ${stack.serviceRole}, passwordFile: service.password }
`,
    );
    writeFileSync(stack.policiesFile, added);
    expect(stack.pgveil.policies.reload()).toBe(true);
    await waitUntil(
      () =>
        stack.pgveil.upstreams.state('extra')?.status === 'unreachable' &&
        stack.pgveil.upstreams.state('mirror')?.status === 'reachable',
    );
    const { status, body } = await readyz();
    expect(status).toBe(503);
    expect(body.checks).toEqual({
      policies: true,
      audit: true,
      'upstream:demo': true,
      'upstream:extra': false,
      'upstream:mirror': true,
    });
    expect(Object.keys(body.problems ?? {})).toEqual(['upstream:extra']);
    expect(about('extra', WARN)).toEqual([
      expect.objectContaining({ host: '127.0.0.1', port: deadPort, database: 'nowhere' }),
    ]);
    expect((await upMetric()).sort()).toEqual([
      'pgveil_upstream_up{data_product="demo"} 1',
      'pgveil_upstream_up{data_product="extra"} 0',
      'pgveil_upstream_up{data_product="mirror"} 1',
    ]);

    writeFileSync(stack.policiesFile, originalPolicies);
    expect(stack.pgveil.policies.reload()).toBe(true);
    expect(stack.pgveil.upstreams.state('extra')).toBeUndefined();
    expect(await readyz()).toEqual({
      status: 200,
      body: { status: 'ready', checks: { policies: true, audit: true, 'upstream:demo': true } },
    });
    expect(await upMetric()).toEqual(['pgveil_upstream_up{data_product="demo"} 1']);
  });

  test('the log never carries an upstream credential', () => {
    const text = out.join('');
    expect(text).toContain('"dataProduct":"extra"');
    expect(text).not.toContain(extraPassword);
    expect(text).not.toContain(readFileSync(join(stack.dir, 'service.password'), 'utf8').trim());
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(condition()).toBe(true);
}
