/**
 * Assembles one pgveil process from its configuration: policies (hot-reloaded), identity, catalog
 * caches, the rewriting gate, the audit log and security events, and the proxy listener.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createProxyServer, DEFAULT_LIMITS } from '../../proxy';
import { initRewriter, RewriteCache, type CatalogSnapshot } from '../../rewriter';
import { createIdentityProvider, PolicyStore, createTokenVerifier } from '../../policies';
import { connectRedis, subscriberOf } from './connect-redis';
import { announceTo, followAnnouncements } from '../../policies';
import { upstreamTargetOf } from './upstream-target-of';
import {
  AnomalyDetector,
  AuditLog,
  createAuditObserver,
  fanOut,
  fileSink,
  httpSink,
  redisStreamSink,
  startCheckpoints,
  streamSink,
  type EventSink,
  type SecurityEventKind,
} from '../../audit';
import { createLogger, PgveilMetrics, startAdminServer } from '../../ops';
import { adminTokenFrom } from '../../ops';
import type Redis from 'ioredis';
import type { EventSinkConfig } from '../config/server-config';
import type { ServerConfig } from '../config/server-config';
import { CatalogCache } from './catalog-cache';
import { missingRedisPassword } from '../config/load-server-config';
import { serviceAccountProbe, UpstreamHealth, type DeclaredUpstream } from './upstream-health';
import type { PolicyBundle } from '../../policies';
import { columnTags } from '../../policies';
import { statementGateOf } from './statement-gate-of';
import { attributeSourceOf } from './attribute-source-of';
import { checkProvisioning } from './provisioning-check';
import { continuousDiscovery } from './continuous-discovery-of';
import { fileSinks, warnOfWatchedWrites } from './watched-writes';
import { outputPortsOf, routeOf } from './data-product-routes';
import type { ContinuousDiscovery } from '../../discovery';
import { untaggedColumns } from '../../discovery';
import { createCatalog } from '../../catalog';

export interface RunningPgveil {
  readonly port: number;
  readonly log: Logger;
  readonly policies: PolicyStore;
  readonly catalogs: CatalogCache;
  readonly metrics: PgveilMetrics;
  /** Present when `discovery.continuous.enabled`. */
  readonly discovery: ContinuousDiscovery | undefined;
  readonly adminPort: number | undefined;
  readonly adminHost: string | undefined;
  /** Reachability of each data product's upstream, as /readyz and the main log report it. */
  readonly upstreams: UpstreamHealth;
  /** No new sessions; running statements finish; then everything is closed. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export async function startPgveil(
  config: ServerConfig,
  log: Logger = createLogger(config.log.level),
): Promise<RunningPgveil> {
  await initRewriter();
  // Before anything opens: a configured admin token that is missing or weak stops the start.
  const adminToken = adminTokenFrom(process.env, config.admin?.tokenEnv);
  const noRedisPassword = missingRedisPassword(config, process.env);
  if (noRedisPassword) throw new Error(noRedisPassword);
  const metrics = new PgveilMetrics();
  const upstreams = new UpstreamHealth({
    log,
    probe: serviceAccountProbe(config.upstreamProbe.timeoutMs),
    intervalMs: config.upstreamProbe.intervalMs,
    // Provisioning could not be checked while the upstream was down: check it now.
    onBack: (dataProduct) => void checkProvisioning(policies.current(), config, log, dataProduct),
  });
  const redis = config.redis ? await connectRedis(config.redis.url) : undefined;
  // The data product catalog on the admin port (catalog/): keeps statements and events in process for its pages.
  let proxyPort = config.listen.port;
  const catalog = config.admin
    ? createCatalog({
        bundle: () => policies.current(),
        policyPaths: config.policies,
        catalog: (name) => catalogs.get(name),
        helperSchema: config.helperSchema,
        scanUntagged: (bundle) => untaggedColumns(bundle, config.policies, config.discovery, config.helperSchema),
        listener: {
          host: config.listen.host,
          get port() {
            return proxyPort;
          },
          tls: config.tls !== undefined,
        },
        history: {
          auditFile: config.audit.file,
          eventsFile: fileSinks(config)[0],
        },
      })
    : undefined;
  const events = fanOut([
    ...config.events.sinks.map((s): EventSink => eventSink(s, redis)),
    ...(catalog ? [catalog.activity.sink()] : []),
  ]);
  const securityEvent = (kind: SecurityEventKind, message: string, reason: string): void =>
    events.emit({
      time: new Date().toISOString(),
      kind,
      severity: 'high',
      actor: { user: null, session: '', client: '' },
      dataProduct: null,
      message,
      reasons: [reason],
    });
  const reloadChannel = `${config.redis?.keyPrefix ?? 'pgveil:'}policy-reload`;
  const policies = new PolicyStore({
    paths: config.policies,
    watch: true,
    settleMs: config.policyReload.settleMs,
    checkMs: config.policyReload.checkSeconds * 1000,
    announce: redis ? announceTo(redis, reloadChannel) : undefined,
    onReloaded: (bundle) => {
      metrics.setPolicyVersion(bundle.version);
      log.info({ policyVersion: bundle.version }, 'policies reloaded');
      void checkProvisioning(bundle, config, log);
      void upstreams.track(declaredUpstreams(bundle));
    },
    onReloadFailed: (error) => {
      log.error(
        { error: error.message, policyVersion: policies.current().version },
        'policy change refused: the running version stays',
      );
      securityEvent('policy_reload_failed', error.message, 'policy_invalid');
    },
  });
  // Every replica reloads when one announces a new version (it reads the same files).
  const subscriber = redis ? subscriberOf(redis) : undefined;
  if (subscriber) void followAnnouncements(subscriber, reloadChannel, () => policies).catch(() => undefined);
  const attributes = attributeSourceOf(config, redis, {
    onOutage: (detail) => securityEvent('attribute_source_outage', detail, 'redis_unreachable'),
    onRecovery: () => log.info({}, 'attribute store reachable again'),
  });
  const tokens = config.tokens
    ? { verify: await createTokenVerifier(config.tokens), claims: config.tokens.claims }
    : undefined;
  const identity = createIdentityProvider({ bundle: () => policies.current(), tokens, redis: attributes });
  // A database name names a data product or one of its output ports (same upstream).
  const route = routeOf(() => policies.current().dataProducts);
  const ports = outputPortsOf(config, () => policies.current().dataProducts, redis, {
    onBudgetExhausted: ({ message }) => securityEvent('privacy_budget_exhausted', message, 'dp_budget_exhausted'),
  });
  if (
    !redis &&
    [...policies.current().dataProducts.values()].some((p) => p.ports?.some((port) => port.kind === 'external'))
  ) {
    log.warn(
      {},
      "external ports keep their privacy budgets in this process's memory (no redis configured): a restart renews them and replicas do not share them",
    );
  }
  const discovery = config.discovery.continuous.enabled
    ? continuousDiscovery(config, () => policies.current(), events, metrics, log)
    : undefined;
  const catalogs = new CatalogCache(route, config.catalog.refreshSeconds, upstreams, {
    tagsOf: (dataProduct) => {
      const product = policies.current().dataProducts.get(dataProduct);
      return (relation, column) =>
        columnTags(product, { dataProduct, schema: relation.schema, name: relation.name, columns: [] }, column);
    },
    onUntaggedMatview: (dataProduct, column) =>
      events.emit({
        time: new Date().toISOString(),
        kind: 'matview_untagged_source',
        severity: 'medium',
        actor: { user: null, session: '', client: '' },
        dataProduct,
        message: `materialized view "${column.schema}.${column.name}" column "${column.column}" is computed from tagged ${column.sources.map((s) => `"${s}"`).join(', ')} but has no tag of its own: pgveil serves it unmasked`,
        reasons: ['matview_untagged_source'],
      }),
    ...(discovery
      ? { onLoaded: (name: string, snapshot: CatalogSnapshot) => discovery.catalogLoaded(name, snapshot) }
      : {}),
  });
  const cache = new RewriteCache();
  const secret = config.audit.secretEnv ? process.env[config.audit.secretEnv] : undefined;
  const auditLog = new AuditLog(
    config.audit.file,
    secret ? Buffer.from(secret) : undefined,
    {
      ...(config.audit.rotateBytes ? { maxBytes: config.audit.rotateBytes } : {}),
      ...(config.audit.rotateMaxAgeSeconds ? { maxAgeMs: config.audit.rotateMaxAgeSeconds * 1000 } : {}),
    },
    { batched: true, onWriteFailed: (records) => metrics.auditFailures.inc(records) },
  );
  if (!auditLog.writable && config.audit.failClosed)
    log.error(
      { file: config.audit.file, error: auditLog.failure },
      'audit log unavailable: every statement will be refused',
    );
  warnOfWatchedWrites(policies.watchedDirectories(), [config.audit.file, ...fileSinks(config)], log);
  // The chain's head, signed, outside the file: at start, every checkpointSeconds, at rotation and shutdown.
  const checkpoints = startCheckpoints({
    log: auditLog,
    name: config.audit.logName ?? `${hostname()}:${config.audit.file}`,
    secret: secret ? Buffer.from(secret) : undefined,
    intervalMs: config.audit.checkpointSeconds * 1000,
    emit: (event) => events.emit(event),
    ...(redis && config.redis ? { redis: { client: redis, key: `${config.redis.keyPrefix}audit-checkpoints` } } : {}),
  });
  metrics.setPolicyVersion(policies.current().version);
  await checkProvisioning(policies.current(), config, log);
  const proxy = createProxyServer({
    host: config.listen.host,
    port: config.listen.port,
    tls: config.tls ? { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } : undefined,
    limits: {
      ...DEFAULT_LIMITS,
      maxMessageBytes: config.limits.maxMessageBytes,
      startupTimeoutMs: config.limits.startupTimeoutMs,
      idleTimeoutMs: config.limits.idleTimeoutMs,
      maxClientConnections: config.limits.maxClientConnections,
    },
    identity,
    route,
    ...(config.authentication.decoySecretEnv
      ? { decoySecret: requiredSecret(config.authentication.decoySecretEnv) }
      : {}),
    gate: statementGateOf(config, { policies: () => policies.current(), identity, catalogs, cache, metrics, ports }),
    observer: ((observer) => (catalog ? catalog.activity.observe(observer) : observer))(
      createAuditObserver({
        log: auditLog,
        events,
        rawStatements: config.audit.rawStatements,
        failClosed: config.audit.failClosed,
        metrics,
        anomalies: new AnomalyDetector(config.anomalies),
      }),
    ),
    logger: log,
  });
  const { port } = await proxy.listen();
  proxyPort = port;
  metrics.watchSinks(events.sinks);
  metrics.watchPools(() => proxy.poolStats());
  // Checked before "listening" is logged, so an upstream that is down at start is warned about first.
  await upstreams.track(declaredUpstreams(policies.current()));
  upstreams.start();
  metrics.watchUpstreams(() =>
    upstreams.reports().map((u) => ({ dataProduct: u.dataProduct, up: u.state.status === 'reachable' })),
  );
  const admin = config.admin
    ? await startAdminServer({
        host: config.admin.host,
        port: config.admin.port,
        metrics,
        token: adminToken,
        // From kept state only: the running policy version's data products, whatever reloads did.
        readiness: () => [
          { name: 'policies', ok: policies.current().version.length > 0 },
          {
            name: 'audit',
            ok: auditLog.writable || !config.audit.failClosed,
            detail: 'the audit log cannot be written and audit.failClosed is set',
          },
          ...[...policies.current().dataProducts.keys()].map((name) => {
            const state = upstreams.state(name);
            return {
              name: `upstream:${name}`,
              ok: state?.status === 'reachable',
              detail:
                state?.status === 'unreachable'
                  ? `unreachable since ${state.since.toISOString()}: ${state.reason}`
                  : 'not checked yet',
            };
          }),
        ],
        actions: {
          // After DDL on a data product: reload every catalog now instead of at the next refresh.
          '/catalog/refresh': async () => {
            const names = [...policies.current().dataProducts.keys()];
            await Promise.all(names.map((name) => catalogs.refresh(name)));
            return { refreshed: names };
          },
        },
        onDenied: ({ path, client, reason }) => {
          log.warn({ path, client, reason }, 'admin action refused');
          securityEvent(
            'admin_action_refused',
            `admin action "${path}" from ${client} refused: ${reason}`,
            'admin_unauthorized',
          );
        },
        catalog: catalog?.handler({
          token: adminToken,
          onDenied: ({ path, client, reason }) => {
            log.warn({ path, client, reason }, 'catalog access refused');
            securityEvent(
              'admin_action_refused',
              `catalog "${path}" from ${client} refused: ${reason}`,
              'catalog_unauthorized',
            );
          },
        }),
      })
    : undefined;
  if (admin)
    log.info(
      { host: admin.host, port: admin.port, actions: adminToken ? 'token' : 'disabled' },
      'admin endpoint (metrics, healthz, readyz) is listening',
    );
  log.info({ host: config.listen.host, port, policyVersion: policies.current().version }, 'pgveil is listening');
  const shutdown = async (): Promise<void> => {
    await admin?.close();
    upstreams.close();
    await discovery?.idle();
    await catalog?.scanner.idle();
    policies.close();
    await checkpoints.stop();
    auditLog.close();
    attributes?.close();
    subscriber?.disconnect();
    redis?.disconnect();
    await events.close();
  };
  return {
    port,
    log,
    policies,
    catalogs,
    metrics,
    discovery,
    adminPort: admin?.port,
    adminHost: admin?.host,
    upstreams,
    async drain() {
      await proxy.drain();
      await proxy.close();
      await shutdown();
    },
    async close() {
      await proxy.close();
      await shutdown();
    },
  };
}

function declaredUpstreams(bundle: PolicyBundle): Map<string, DeclaredUpstream> {
  return new Map(
    [...bundle.dataProducts].map(([name, product]): [string, DeclaredUpstream] => {
      const u = product.upstream;
      return [
        name,
        { host: u.host, port: u.port, database: u.database, user: u.user, target: () => upstreamTargetOf(product) },
      ];
    }),
  );
}

function eventSink(config: EventSinkConfig, redis: Redis | undefined): EventSink {
  switch (config.type) {
    case 'file':
      return fileSink(config.path);
    case 'stdout':
      return streamSink('stdout', process.stdout);
    case 'http':
      return httpSink(config.url, config.attempts);
    case 'redis-stream':
      if (!redis) throw new Error('the redis-stream event sink needs the redis section of the configuration');
      return redisStreamSink(redis, config.key, config.maxLen);
  }
}

/** A secret named by the configuration must be there and long enough: a missing one is not "random". */
function requiredSecret(env: string): Buffer {
  const value = process.env[env];
  if (!value || Buffer.byteLength(value) < 32)
    throw new Error(`authentication.decoySecretEnv names "${env}", which must hold a secret of at least 32 bytes`);
  return Buffer.from(value);
}
