/**
 * Every way a policy file gets replaced is seen, 20 times in a row: written in place, written
 * beside and renamed over, `sed -i`, an editor's backup-and-rename, a symlink swapped, and the
 * Kubernetes ConfigMap layout (`..data` swapped to a new timestamped directory). After each update
 * the store must load it, and the very next statement through the proxy must see it. The periodic
 * check is off here, so the watchers alone must do it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { Client } from 'pg';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, type Stack } from '../support/pgveil-stack';

const UPDATES = 20;

/** The demo policy with the e-mail rule replaced by a constant we can recognise. */
const versioned = (demo: string, dir: string, n: number): string =>
  demo
    .replace('action: { kind: mask_email }', `action: { kind: constant, value: "v${n}" }`)
    .replace('passwordFile: service.password', `passwordFile: ${join(dir, 'service.password')}`);

interface Pattern {
  readonly name: string;
  /** Writes version 0 and returns the path pgveil.yaml names. */
  layout(dir: string, text: string): string;
  /** Replaces version n-1 by version n. */
  update(dir: string, path: string, text: string, n: number): void;
}

const PATTERNS: readonly Pattern[] = [
  {
    name: 'in-place write',
    layout: (dir, text) => write(join(dir, 'policies.yaml'), text),
    update: (_dir, path, text) => writeFileSync(path, text),
  },
  {
    name: 'write-then-rename',
    layout: (dir, text) => write(join(dir, 'policies.yaml'), text),
    update: (dir, path, text, n) => {
      write(join(dir, `.policies.yaml.tmp${n}`), text);
      renameSync(join(dir, `.policies.yaml.tmp${n}`), path);
    },
  },
  {
    name: 'sed -i',
    layout: (dir, text) => write(join(dir, 'policies.yaml'), text),
    update: (_dir, path, _text, n) => execFileSync('sed', ['-i', `s/value: "v${n - 1}"/value: "v${n}"/`, path]),
  },
  {
    name: "an editor's backup-and-rename",
    layout: (dir, text) => write(join(dir, 'policies.yaml'), text),
    update: (_dir, path, text) => {
      renameSync(path, `${path}~`);
      write(path, text);
      unlinkSync(`${path}~`);
    },
  },
  {
    name: 'a symlink to a file swapped',
    layout: (dir, text) => {
      mkdirSync(join(dir, 'versions'));
      write(join(dir, 'versions', 'policies-0.yaml'), text);
      symlinkSync(join(dir, 'versions', 'policies-0.yaml'), join(dir, 'policies.yaml'));
      return join(dir, 'policies.yaml');
    },
    update: (dir, path, text, n) => {
      write(join(dir, 'versions', `policies-${n}.yaml`), text);
      symlinkSync(join(dir, 'versions', `policies-${n}.yaml`), join(dir, 'policies.yaml.new'));
      renameSync(join(dir, 'policies.yaml.new'), path);
    },
  },
  {
    name: 'the Kubernetes ConfigMap layout',
    layout: (dir, text) => {
      const mount = join(dir, 'configmap');
      mkdirSync(join(mount, '..2026_12_01_00_00_00.0'), { recursive: true });
      write(join(mount, '..2026_12_01_00_00_00.0', 'policies.yaml'), text);
      symlinkSync('..2026_12_01_00_00_00.0', join(mount, '..data'));
      symlinkSync('..data/policies.yaml', join(mount, 'policies.yaml'));
      return join(mount, 'policies.yaml');
    },
    // What the kubelet does: a new timestamped directory, `..data_tmp` pointing at it renamed over
    // `..data`, then the old directory removed.
    update: (dir, _path, text, n) => {
      const mount = join(dir, 'configmap');
      const previous = `..2026_12_01_00_00_${String(n - 1).padStart(2, '0')}.0`;
      const next = `..2026_12_01_00_00_${String(n).padStart(2, '0')}.0`;
      mkdirSync(join(mount, next));
      write(join(mount, next, 'policies.yaml'), text);
      symlinkSync(next, join(mount, '..data_tmp'));
      renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
      rmSync(join(mount, previous), { recursive: true, force: true });
    },
  },
];

function write(path: string, text: string): string {
  writeFileSync(path, text);
  return path;
}

async function waitForVersionChange(stack: Stack, from: string): Promise<string> {
  for (let i = 0; i < 250; i++) {
    const version = stack.pgveil.policies.current().version;
    if (version !== from) return version;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`policy version stayed ${from}: the update was not loaded`);
}

describe.each(PATTERNS)('reload after $name', (pattern) => {
  let stack: Stack;
  let demoText = '';

  beforeAll(async () => {
    stack = await startStack('reload_pattern', {
      policyYaml: (demo) => (demoText = demo),
      policyLayout: (dir, text) => pattern.layout(dir, versioned(text, dir, 0)),
      configLines: ['policyReload: { settleMs: 25, checkSeconds: 0 }'],
    });
  });
  afterAll(async () => stack.stop());

  test(`each of ${UPDATES} successive updates takes effect for the next statement`, async () => {
    const analyst = await stack.connect('analyst');
    try {
      const email = async (): Promise<string> =>
        (await analyst.query('SELECT email FROM customers WHERE id = 3')).rows[0].email as string;
      expect(await email()).toBe('v0');
      for (let n = 1; n <= UPDATES; n++) {
        const before = stack.pgveil.policies.current().version;
        pattern.update(stack.dir, stack.policiesFile, versioned(demoText, stack.dir, n), n);
        await waitForVersionChange(stack, before);
        expect(await email()).toBe(`v${n}`);
      }
      expect(readFileSync(stack.policiesFile, 'utf8')).toContain(`value: "v${UPDATES}"`);
    } finally {
      await analyst.end();
    }
  });
});

/**
 * A swap higher up the path (a directory symlink such as `current -> rev-3`) changes what the file
 * path reads without any event in the directories watched: the periodic content check loads it,
 * and so does SIGHUP in a real `pgveil serve` process with the check turned off.
 */
describe('changes no watcher sees', () => {
  const layout = (dir: string, text: string): string => {
    mkdirSync(join(dir, 'rev-0'));
    write(join(dir, 'rev-0', 'policies.yaml'), text);
    symlinkSync(join(dir, 'rev-0'), join(dir, 'current'));
    return join(dir, 'current', 'policies.yaml');
  };
  const swap = (dir: string, text: string, n: number): void => {
    mkdirSync(join(dir, `rev-${n}`));
    write(join(dir, `rev-${n}`, 'policies.yaml'), text);
    symlinkSync(join(dir, `rev-${n}`), join(dir, 'current.new'));
    renameSync(join(dir, 'current.new'), join(dir, 'current'));
  };

  test('the periodic content check loads a directory-symlink swap', async () => {
    let demoText = '';
    const stack = await startStack('reload_poll', {
      policyYaml: (demo) => (demoText = demo),
      policyLayout: (dir, text) => layout(dir, versioned(text, dir, 0)),
      configLines: ['policyReload: { settleMs: 25, checkSeconds: 0.1 }'],
    });
    const analyst = await stack.connect('analyst');
    try {
      for (let n = 1; n <= 3; n++) {
        const before = stack.pgveil.policies.current().version;
        swap(stack.dir, versioned(demoText, stack.dir, n), n);
        await waitForVersionChange(stack, before);
        expect((await analyst.query('SELECT email FROM customers WHERE id = 3')).rows).toEqual([{ email: `v${n}` }]);
      }
    } finally {
      await analyst.end();
      await stack.stop();
    }
  });

  test('SIGHUP reloads a serve process whose check is off', async () => {
    let demoText = '';
    const stack = await startStack('reload_hup', {
      policyYaml: (demo) => (demoText = demo),
      policyLayout: (dir, text) => layout(dir, versioned(text, dir, 0)),
    });
    const config = join(stack.dir, 'serve.yaml');
    writeFileSync(
      config,
      [
        'listen: { host: 127.0.0.1, port: 0 }',
        `policies: [ ${JSON.stringify(stack.policiesFile)} ]`,
        'audit: { file: serve-audit.jsonl }',
        'policyReload: { checkSeconds: 0 }',
        'log: { level: info }',
        '',
      ].join('\n'),
    );
    const child = spawn('node', [join(__dirname, '../../dist/cli/pgveil.js'), 'serve', '--config', config], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    const waitForLog = async (fragment: string): Promise<void> => {
      for (let i = 0; i < 1500 && !log.includes(fragment); i++) await new Promise((r) => setTimeout(r, 20));
      expect(log).toContain(fragment);
    };
    try {
      await waitForLog('pgveil is listening');
      const port = (JSON.parse(log.split('\n').find((l) => l.includes('pgveil is listening'))!) as { port: number })
        .port;
      const analyst = new Client({ host: '127.0.0.1', port, user: 'analyst', password: 'analyst', database: 'demo' });
      await analyst.connect();
      try {
        const email = async (): Promise<unknown> =>
          (await analyst.query('SELECT email FROM customers WHERE id = 3')).rows[0].email;
        expect(await email()).toBe('v0');
        swap(stack.dir, versioned(demoText, stack.dir, 1), 1);
        await new Promise((r) => setTimeout(r, 300));
        expect(await email()).toBe('v0');
        child.kill('SIGHUP');
        await waitForLog('policies reloaded');
        expect(await email()).toBe('v1');
      } finally {
        await analyst.end();
      }
    } finally {
      child.kill('SIGKILL');
      await stack.stop();
    }
  });
});
