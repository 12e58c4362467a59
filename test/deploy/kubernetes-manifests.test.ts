/**
 * The Kubernetes examples apply as they are. No cluster answers here (kubectl's dry run needs an API
 * server for its schemas), so each object is checked against the Kubernetes OpenAPI schema
 * (kubernetes-models), and type-checked against the same API's TypeScript types, whose excess-property
 * check rejects a misspelt field that the schema alone lets through. Then, as a reviewer would:
 * every ConfigMap, Secret, key, volume, claim and port a workload names is defined; pgveil's own
 * configuration and policies inside the ConfigMaps load with pgveil's loaders; the audit log is on a
 * persistent volume; policies are mounted as a directory (updates reach them) and provisioned in an
 * init step; the gateway's replicas share Redis.
 */
import { readdirSync, readFileSync, mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { parseAllDocuments } from 'yaml';
import ts from 'typescript';
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import { loadServerConfig } from '../../cli/config/load-server-config';
import type { ServerConfig } from '../../cli/config/server-config';
import { loadPolicyFiles, type PolicyBundle } from '../../policies';
import { adminTokenFrom } from '../../ops/bearer-token';

const ROOT = join(__dirname, '../..');
const DIR = join(ROOT, 'deploy/kubernetes');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

// The kinds the examples use, with their model (schema) and their TypeScript type.
const KINDS: Readonly<
  Record<
    string,
    { readonly model: new (data: never) => { validate(): void }; readonly type: readonly [string, string] }
  >
> = {
  'v1/ConfigMap': { model: ConfigMap, type: ['kubernetes-models/v1/ConfigMap', 'IConfigMap'] },
  'v1/Secret': { model: Secret, type: ['kubernetes-models/v1/Secret', 'ISecret'] },
  'v1/Service': { model: Service, type: ['kubernetes-models/v1/Service', 'IService'] },
  'v1/PersistentVolumeClaim': {
    model: PersistentVolumeClaim,
    type: ['kubernetes-models/v1/PersistentVolumeClaim', 'IPersistentVolumeClaim'],
  },
  'apps/v1/Deployment': { model: Deployment, type: ['kubernetes-models/apps/v1/Deployment', 'IDeployment'] },
  'batch/v1/Job': { model: Job, type: ['kubernetes-models/batch/v1/Job', 'IJob'] },
  'networking.k8s.io/v1/NetworkPolicy': {
    model: NetworkPolicy,
    type: ['kubernetes-models/networking.k8s.io/v1/NetworkPolicy', 'INetworkPolicy'],
  },
  'policy/v1/PodDisruptionBudget': {
    model: PodDisruptionBudget,
    type: ['kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'],
  },
};

const manifests = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function objectsOf(file: string): K8sObject[] {
  const documents = parseAllDocuments(readFileSync(join(DIR, file), 'utf8'));
  return documents.map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as K8sObject;
  });
}

/** A workload's pod template, whatever the kind. */
function podOf(o: K8sObject): { readonly labels: Record<string, string>; readonly spec: IPodSpec } | undefined {
  if (o.kind !== 'Deployment' && o.kind !== 'Job') return undefined;
  const template = (o.spec as { template: { metadata: { labels: Record<string, string> }; spec: IPodSpec } }).template;
  return { labels: template.metadata.labels, spec: template.spec };
}

const containersOf = (pod: IPodSpec): IContainer[] => [...(pod.initContainers ?? []), ...pod.containers];
const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const keysOf = (o: K8sObject): string[] =>
  Object.keys({ ...((o.data as object) ?? {}), ...((o.stringData as object) ?? {}) });

test('the examples are the sidecar and the gateway', () => {
  expect(manifests).toEqual(['gateway.yaml', 'sidecar.yaml']);
});

describe.each(manifests)('%s', (file) => {
  const objects = objectsOf(file);
  const named = (kind: string, name: string): K8sObject | undefined =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);
  const workloads = objects.flatMap((o) => {
    const pod = podOf(o);
    return pod ? [{ object: o, ...pod }] : [];
  });

  test('every object is valid against the Kubernetes schema', () => {
    for (const o of objects) {
      const kind = KINDS[`${o.apiVersion}/${o.kind}`];
      expect(kind).toBeDefined();
      expect(() => new kind!.model(o as never).validate()).not.toThrow();
    }
  });

  test('no object carries a field that the Kubernetes API does not define', () => {
    const source = [
      ...objects.map(
        (o, i) =>
          `import type { ${KINDS[`${o.apiVersion}/${o.kind}`]!.type[1]} as T${i} } from '${KINDS[`${o.apiVersion}/${o.kind}`]!.type[0]}';`,
      ),
      ...objects.map((o, i) => `export const object${i}: T${i} = ${JSON.stringify(o)};`),
    ].join('\n');
    const virtual = join(ROOT, 'test/deploy/__manifest-types__.ts');
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      target: ts.ScriptTarget.ES2022,
      types: [],
    };
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    host.readFile = (f) => (f === virtual ? source : readFile(f));
    host.fileExists = (f) => f === virtual || fileExists(f);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (f, language) =>
      f === virtual ? ts.createSourceFile(f, source, language) : getSourceFile(f, language);
    const program = ts.createProgram([virtual], options, host);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  });

  test('every ConfigMap, Secret, key, claim and volume a workload names is defined, and every volume is used', () => {
    expect(workloads.length).toBeGreaterThan(0);
    for (const { spec } of workloads) {
      const volumes = new Map((spec.volumes ?? []).map((v: IVolume) => [v.name, v]));
      for (const v of volumes.values()) {
        if (v.configMap) {
          const cm = named('ConfigMap', v.configMap.name!);
          expect(cm).toBeDefined();
          for (const item of v.configMap.items ?? []) expect(keysOf(cm!)).toContain(item.key);
        }
        if (v.secret) {
          const secret = named('Secret', v.secret.secretName!);
          expect(secret).toBeDefined();
          for (const item of v.secret.items ?? []) expect(keysOf(secret!)).toContain(item.key);
        }
        if (v.persistentVolumeClaim)
          expect(named('PersistentVolumeClaim', v.persistentVolumeClaim.claimName)).toBeDefined();
        expect(v.emptyDir).toBeUndefined();
      }
      const mounted = new Set<string>();
      for (const c of containersOf(spec)) {
        for (const m of c.volumeMounts ?? []) {
          expect(volumes.has(m.name)).toBe(true);
          mounted.add(m.name);
          // A subPath mount of a ConfigMap or Secret never sees an update.
          if (volumes.get(m.name)?.configMap || volumes.get(m.name)?.secret)
            expect([m.subPath, m.subPathExpr]).toEqual([undefined, undefined]);
        }
        for (const e of c.env ?? []) {
          const secretRef = e.valueFrom?.secretKeyRef;
          if (secretRef)
            expect(keysOf(named('Secret', secretRef.name!) ?? ({ metadata: { name: '' } } as K8sObject))).toContain(
              secretRef.key,
            );
          const configRef = e.valueFrom?.configMapKeyRef;
          if (configRef)
            expect(keysOf(named('ConfigMap', configRef.name!) ?? ({ metadata: { name: '' } } as K8sObject))).toContain(
              configRef.key,
            );
        }
        const ports = (c.ports ?? []).map((p) => p.name);
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
          const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
          if (typeof port === 'string') expect(ports).toContain(port);
        }
      }
      expect([...mounted].sort()).toEqual([...volumes.keys()].sort());
    }
  });

  test('every Service, NetworkPolicy and PodDisruptionBudget selects a workload, on ports it has', () => {
    for (const o of objects) {
      const spec = o.spec as {
        selector?: Record<string, string> | { matchLabels: Record<string, string> };
        podSelector?: { matchLabels: Record<string, string> };
        ports?: Array<{ targetPort: string }>;
      };
      const selector =
        o.kind === 'Service'
          ? (spec.selector as Record<string, string>)
          : o.kind === 'NetworkPolicy'
            ? spec.podSelector?.matchLabels
            : o.kind === 'PodDisruptionBudget'
              ? (spec.selector as { matchLabels: Record<string, string> }).matchLabels
              : undefined;
      if (!selector) continue;
      const targets = workloads.filter((w) => w.object.kind === 'Deployment' && selects(selector, w.labels));
      expect(targets).toHaveLength(1);
      const selectorOfDeployment = (targets[0]!.object.spec as { selector: { matchLabels: Record<string, string> } })
        .selector.matchLabels;
      expect(selects(selectorOfDeployment, targets[0]!.labels)).toBe(true);
      if (o.kind === 'Service') {
        const ports = containersOf(targets[0]!.spec).flatMap((c) => (c.ports ?? []).map((p) => p.name));
        for (const p of spec.ports ?? []) expect(ports).toContain(p.targetPort);
      }
    }
  });

  describe('pgveil in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgveil-manifest-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** The files a container sees at `path`, from the ConfigMap or Secret volume mounted above it. */
    function fileIn(
      spec: IPodSpec,
      container: IContainer,
      path: string,
    ): { readonly text: string; readonly volume: IVolume } {
      const mount = (container.volumeMounts ?? []).find((m) => dirname(path) === m.mountPath);
      expect(mount).toBeDefined();
      const volume = spec.volumes!.find((v) => v.name === mount!.name)!;
      const source = volume.configMap
        ? named('ConfigMap', volume.configMap.name!)
        : volume.secret
          ? named('Secret', volume.secret.secretName!)
          : undefined;
      expect(source).toBeDefined();
      const key = posix.basename(path);
      const item = (volume.configMap?.items ?? volume.secret?.items ?? []).find((i) => i.path === key);
      const values = {
        ...((source!.data as Record<string, string>) ?? {}),
        ...((source!.stringData as Record<string, string>) ?? {}),
      };
      const text = values[item?.key ?? key];
      expect(text).toBeDefined();
      return { text: text!, volume };
    }

    /** pgveil.yaml and the policies it names, from the ConfigMaps, through pgveil's own loaders. */
    function configOf(
      spec: IPodSpec,
      container: IContainer,
    ): { readonly config: ServerConfig; readonly bundle: PolicyBundle; readonly env: Set<string> } {
      const args = [...(container.command ?? []), ...(container.args ?? [])];
      const configPath = args[args.indexOf('--config') + 1]!;
      expect(configPath).toMatch(/^\/etc\/pgveil\//);
      const local = join(dir, container.name);
      mkdirSync(local, { recursive: true });
      writeFileSync(join(local, 'pgveil.yaml'), fileIn(spec, container, configPath).text);
      const config = loadServerConfig(join(local, 'pgveil.yaml'));
      const policyFiles = config.policies.map((inPod, i) => {
        expect(posix.isAbsolute(inPod)).toBe(true);
        const { text, volume } = fileIn(spec, container, inPod);
        expect(volume.configMap).toBeDefined();
        const localFile = join(local, `policies-${i}.yaml`);
        writeFileSync(localFile, text);
        return localFile;
      });
      return { config, bundle: loadPolicyFiles(policyFiles), env: new Set((container.env ?? []).map((e) => e.name)) };
    }

    const pgveilContainers = workloads.flatMap((w) =>
      containersOf(w.spec)
        .filter((c) => c.image?.startsWith('pgveil'))
        .map((c) => ({ workload: w, container: c })),
    );
    const servers = pgveilContainers.filter(({ container }) => !(container.command ?? []).includes('provision'));
    const provisioners = pgveilContainers.filter(({ container }) => (container.command ?? []).includes('provision'));

    test(`runs the image of this version (pgveil:${VERSION})`, () => {
      expect(pgveilContainers.length).toBeGreaterThan(0);
      for (const { container } of pgveilContainers) expect(container.image).toBe(`pgveil:${VERSION}`);
    });

    test('serves with a configuration that loads, its secrets in the environment, the audit log on a persistent volume, policies from a ConfigMap directory', () => {
      expect(servers).toHaveLength(1);
      const { workload, container } = servers[0]!;
      const { config, bundle, env } = configOf(workload.spec, container);
      for (const name of [config.audit.secretEnv, config.admin?.tokenEnv, config.redis?.passwordEnv])
        if (name) expect(env).toContain(name);
      for (const product of bundle.dataProducts.values())
        if (product.upstream.passwordEnv) expect(env).toContain(product.upstream.passwordEnv);
      expect(config.audit.file).toBe('/var/log/pgveil/audit.jsonl');
      const auditMount = container.volumeMounts!.find((m) => posix.dirname(config.audit.file) === m.mountPath);
      expect(auditMount).toBeDefined();
      const auditVolume = workload.spec.volumes!.find((v) => v.name === auditMount!.name)!;
      expect(auditVolume.persistentVolumeClaim).toBeDefined();
      for (const path of [config.tls!.cert, config.tls!.key])
        expect(fileIn(workload.spec, container, path).volume.secret).toBeDefined();
      expect(config.admin).toMatchObject({ port: 9187 });
      expect(container.ports).toContainEqual({ name: 'admin', containerPort: config.admin!.port });
      expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
      // The Secret's placeholder admin token is refused, so the example cannot run with a known token.
      const tokenRef = container.env!.find((e) => e.name === config.admin!.tokenEnv)!.valueFrom!.secretKeyRef!;
      const placeholder = (named('Secret', tokenRef.name!)!.stringData as Record<string, string>)[tokenRef.key]!;
      expect(() => adminTokenFrom({ T: placeholder }, 'T')).toThrow('shorter than 16 characters');
    });

    test('provisions every data product with `pgveil provision` before any statement needs it', () => {
      expect(provisioners.length).toBeGreaterThan(0);
      const covered = new Set<string>();
      for (const { workload, container } of provisioners) {
        const args = [...container.command!, ...(container.args ?? [])];
        expect(args.slice(0, 3)).toEqual(['node', 'dist/cli/pgveil.js', 'provision']);
        const { bundle, env } = configOf(workload.spec, container);
        const product = args.includes('--product') ? args[args.indexOf('--product') + 1]! : undefined;
        const products = [...bundle.dataProducts.values()].filter((p) => product === undefined || p.name === product);
        expect(products.length).toBeGreaterThan(0);
        for (const p of products) {
          covered.add(p.name);
          if (p.upstream.passwordEnv) expect(env).toContain(p.upstream.passwordEnv);
        }
        const passwordFile = args[args.indexOf('--admin-password-file') + 1]!;
        expect(fileIn(workload.spec, container, passwordFile).volume.secret).toBeDefined();
        if (workload.object.kind === 'Deployment') {
          // An init step, after the database it provisions has started (a native sidecar with a startup probe).
          const init = workload.spec.initContainers ?? [];
          const at = init.indexOf(container);
          expect(at).toBeGreaterThan(0);
          expect(init.slice(0, at).some((c) => c.restartPolicy === 'Always' && c.startupProbe !== undefined)).toBe(
            true,
          );
        }
      }
      const served = configOf(servers[0]!.workload.spec, servers[0]!.container).bundle;
      expect([...covered].sort()).toEqual([...served.dataProducts.keys()].sort());
    });
  });
});

test('the sidecar keeps one pod whose volumes it lets go of before the next starts', () => {
  const deployment = objectsOf('sidecar.yaml').find((o) => o.kind === 'Deployment')!;
  expect(deployment.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
});

test('the gateway runs several replicas behind one Service, sharing Redis, each with its own audit folder', () => {
  const objects = objectsOf('gateway.yaml');
  const gateway = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'pgveil-gateway')!;
  const { replicas, template } = gateway.spec as { replicas: number; template: { spec: IPodSpec } };
  expect(replicas).toBeGreaterThanOrEqual(2);
  const pgveil = template.spec.containers[0]!;
  const config = (
    objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'pgveil-gateway')!.data as Record<string, string>
  )['pgveil.yaml']!;
  expect(config).toMatch(/^redis: \{ url: "redis:\/\/pgveil-redis:6379", passwordEnv: PGVEIL_REDIS_PASSWORD/m);
  expect(objects.find((o) => o.kind === 'Service' && o.metadata.name === 'pgveil-redis')).toBeDefined();
  const audit = pgveil.volumeMounts!.find((m) => m.mountPath === '/var/log/pgveil')!;
  expect(audit.subPathExpr).toBe('$(POD_NAME)');
  expect(pgveil.env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
  const claim = template.spec.volumes!.find((v) => v.name === audit.name)!.persistentVolumeClaim!.claimName;
  expect(
    (
      objects.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === claim)!.spec as {
        accessModes: string[];
      }
    ).accessModes,
  ).toEqual(['ReadWriteMany']);
});
