/** Prometheus metrics on pgveil's own registry (no global default registry). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { TallyCounter, TallyHistogram } from './tally-metrics';

/** A transaction pool as the metrics read it (proxy/pool/). */
interface PoolStats {
  readonly upstream: string;
  readonly open: number;
  readonly idle: number;
  readonly waiting: number;
}

export class PgveilMetrics {
  readonly registry = new Registry();
  // Touched by every statement: tallied in plain numbers, read at scrape time (tally-metrics.ts).
  readonly statements = new TallyCounter({
    name: 'pgveil_statements_total',
    help: 'Statements by decision (allowed, rewritten, refused)',
    labelName: 'decision',
    registry: this.registry,
  });
  readonly refusals = new Counter({
    name: 'pgveil_refusals_total',
    help: 'Refused statements by rule',
    labelNames: ['rule'],
    registers: [this.registry],
  });
  readonly rewriteSeconds = new TallyHistogram(
    'pgveil_rewrite_duration_seconds',
    'Time to rewrite one SQL text (cache hits included)',
    [0.000002, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.02, 0.1],
    this.registry,
  );
  readonly rewriteCache = new TallyCounter({
    name: 'pgveil_rewrite_cache_total',
    help: 'Rewrite cache lookups by result (hit, miss)',
    labelName: 'result',
    registry: this.registry,
  });
  readonly statementSeconds = new TallyHistogram(
    'pgveil_statement_duration_seconds',
    'Statement duration from the client message to the upstream answer',
    [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    this.registry,
  );
  readonly rows = new TallyCounter({
    name: 'pgveil_rows_returned_total',
    help: 'Rows relayed to clients',
    registry: this.registry,
  });
  readonly clientConnections = new Gauge({
    name: 'pgveil_client_connections',
    help: 'Authenticated client sessions',
    registers: [this.registry],
  });
  readonly upstreamConnections = new Gauge({
    name: 'pgveil_upstream_connections',
    help: 'Upstream connections of client sessions that have one of their own (session mode)',
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'pgveil_auth_failures_total',
    help: 'Failed authentications',
    registers: [this.registry],
  });
  readonly policyVersion = new Gauge({
    name: 'pgveil_policy_version_info',
    help: 'The running policy version (value 1)',
    labelNames: ['version'],
    registers: [this.registry],
  });
  readonly auditFailures = new Counter({
    name: 'pgveil_audit_write_failures_total',
    help: 'Audit records that could not be written',
    registers: [this.registry],
  });
  readonly untaggedSensitiveColumns = new Gauge({
    name: 'pgveil_untagged_sensitive_columns',
    help: 'Columns continuous discovery flags as sensitive that no tag covers, per data product',
    labelNames: ['data_product'],
    registers: [this.registry],
  });
  // External output ports (ports/): what differentially private answers spent.
  readonly privacyEpsilon = new Counter({
    name: 'pgveil_privacy_epsilon_spent_total',
    help: 'Epsilon spent by answers of external ports',
    labelNames: ['port'],
    registers: [this.registry],
  });
  readonly privacyAnswers = new Counter({
    name: 'pgveil_privacy_answers_total',
    help: 'Answers of external ports by result (spent: new noise; cached: an answer released before)',
    labelNames: ['port', 'result'],
    registers: [this.registry],
  });
  private sinks: ReadonlyArray<{ readonly name: string; readonly depth: number; readonly dropped: number }> = [];
  private readonly droppedSeen = new Map<string, number>();
  // Read from the sinks at scrape time, so a scrape always shows the current queues.
  readonly eventQueueDepth = new Gauge({
    name: 'pgveil_event_queue_depth',
    help: 'Security events waiting for a sink',
    labelNames: ['sink'],
    registers: [this.registry],
    collect: () => {
      for (const s of this.sinks) this.eventQueueDepth.set({ sink: s.name }, s.depth);
    },
  });
  readonly eventsDropped = new Counter({
    name: 'pgveil_events_dropped_total',
    help: 'Security events dropped because a sink queue was full or delivery failed',
    labelNames: ['sink'],
    registers: [this.registry],
    collect: () => {
      for (const s of this.sinks) {
        const delta = s.dropped - (this.droppedSeen.get(s.name) ?? 0);
        if (delta > 0) this.eventsDropped.inc({ sink: s.name }, delta);
        this.droppedSeen.set(s.name, s.dropped);
      }
    },
  });

  private upstreams: () => ReadonlyArray<{ readonly dataProduct: string; readonly up: boolean }> = () => [];
  // Read from the upstream health state at scrape time: products added or removed by a reload follow.
  readonly upstreamUp = new Gauge({
    name: 'pgveil_upstream_up',
    help: "Whether the data product's upstream is reachable (1) or not, or not checked yet (0)",
    labelNames: ['data_product'],
    registers: [this.registry],
    collect: () => {
      this.upstreamUp.reset();
      for (const u of this.upstreams()) this.upstreamUp.set({ data_product: u.dataProduct }, u.up ? 1 : 0);
    },
  });

  private pools: () => ReadonlyArray<PoolStats> = () => [];
  // Read from the pools at scrape time: pools a reload starts or retires follow.
  readonly poolConnections = new Gauge({
    name: 'pgveil_pool_connections',
    help: 'Upstream connections of transaction pools, lent to a client or idle',
    labelNames: ['upstream', 'state'],
    registers: [this.registry],
    collect: () => {
      this.poolConnections.reset();
      for (const p of this.pools()) {
        this.poolConnections.set({ upstream: p.upstream, state: 'lent' }, p.open - p.idle);
        this.poolConnections.set({ upstream: p.upstream, state: 'idle' }, p.idle);
      }
    },
  });
  readonly poolWaiting = new Gauge({
    name: 'pgveil_pool_waiting_clients',
    help: 'Client sessions waiting for a pooled upstream connection',
    labelNames: ['upstream'],
    registers: [this.registry],
    collect: () => {
      this.poolWaiting.reset();
      for (const p of this.pools()) this.poolWaiting.set({ upstream: p.upstream }, p.waiting);
    },
  });

  watchPools(pools: () => ReadonlyArray<PoolStats>): void {
    this.pools = pools;
  }

  watchUpstreams(upstreams: () => ReadonlyArray<{ readonly dataProduct: string; readonly up: boolean }>): void {
    this.upstreams = upstreams;
  }

  watchSinks(sinks: ReadonlyArray<{ readonly name: string; readonly depth: number; readonly dropped: number }>): void {
    this.sinks = sinks;
  }

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'pgveil_' });
  }

  setPolicyVersion(version: string): void {
    this.policyVersion.reset();
    this.policyVersion.set({ version }, 1);
  }
}
