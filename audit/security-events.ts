/**
 * Security events: refusals, authentication failures, protocol violations, limits, reload failures,
 * attribute-store outages, anomalies, audit checkpoints and untagged copies of tagged columns
 * (materialized views) and untagged sensitive columns, in one JSON shape (docs/audit.md). A sink never delays a
 * statement: each has a bounded in-memory queue drained in the background; when it is full the
 * newest event is dropped and counted.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Redis from 'ioredis';
import type { AuditCheckpoint } from './audit-checkpoint';

/**
 * Every kind of security event (docs/audit.md lists them for operators). Closed, so that a misspelt
 * kind is a compile error rather than an event no SIEM rule matches.
 */
export type SecurityEventKind =
  // Reported by the proxy session (proxy/statement-gate.ts SessionEventKind, less the routine ones).
  | 'auth_failure'
  | 'protocol_violation'
  | 'limit_exceeded'
  | 'upstream_failure'
  // A refused statement (its reasons are RefusalRule ids) and the anomaly detector's findings.
  | 'statement_refused'
  | 'rows_spike'
  | 'refusal_spike'
  // The server: policy reloads, the attribute store, the admin port.
  | 'policy_reload_failed'
  | 'attribute_source_outage'
  | 'admin_action_refused'
  // The audit chain's signed checkpoints.
  | 'audit_checkpoint'
  // Catalog loads and continuous discovery: data no tag protects.
  | 'matview_untagged_source'
  | 'untagged_sensitive_column'
  // External output ports: a partner's privacy budget refused an answer.
  | 'privacy_budget_exhausted';

export interface SecurityEvent {
  readonly time: string;
  readonly kind: SecurityEventKind;
  readonly severity: 'low' | 'medium' | 'high';
  readonly actor: { readonly user: string | null; readonly session: string; readonly client: string };
  readonly dataProduct: string | null;
  readonly message: string;
  readonly reasons: readonly string[];
  /** On `audit_checkpoint` events only: the signed head of the audit chain. */
  readonly checkpoint?: AuditCheckpoint;
  /** For `untagged_sensitive_column`: what discovery found (never a sampled value). */
  readonly finding?: {
    readonly relation: string;
    readonly column: string;
    readonly classifier: string;
    readonly proposedTags: readonly string[];
    readonly confidence: number;
  };
}

/**
 * The OCSF class an event kind belongs to, where one fits: authentication failures are OCSF
 * Authentication events, refused statements Datastore Activity, anomalies Detection Findings,
 * the rest (reloads, outages, limits) Application Lifecycle / Network Activity.
 */
const OCSF_CLASSES: Readonly<Partial<Record<SecurityEventKind, readonly [number, string]>>> = {
  auth_failure: [3002, 'Authentication'],
  statement_refused: [6005, 'Datastore Activity'],
  rows_spike: [2004, 'Detection Finding'],
  refusal_spike: [2004, 'Detection Finding'],
  protocol_violation: [4001, 'Network Activity'],
  limit_exceeded: [4001, 'Network Activity'],
  upstream_failure: [4001, 'Network Activity'],
  policy_reload_failed: [6002, 'Application Lifecycle'],
  attribute_source_outage: [6002, 'Application Lifecycle'],
  admin_action_refused: [3002, 'Authentication'],
  // Found at a catalog load: a materialized view copies tagged columns into untagged ones.
  matview_untagged_source: [2004, 'Detection Finding'],
  // A finding about the data itself (sensitive content no policy reaches), like an anomaly.
  untagged_sensitive_column: [2004, 'Detection Finding'],
  // audit_checkpoint: no OCSF class fits a signed log head; it is serialized as a Base Event.
};

/** The serialized form: the event plus its OCSF class. */
function serializeEvent(event: SecurityEvent): string {
  const [classUid, className] = OCSF_CLASSES[event.kind] ?? [0, 'Base Event'];
  return JSON.stringify({ class_uid: classUid, class_name: className, ...event });
}

export interface EventSink {
  readonly name: string;
  emit(event: SecurityEvent): void;
  readonly dropped: number;
  readonly depth: number;
  /**
   * Delivers what is queued for at most `waitMs` (5 s by default), then stops: what is left is
   * dropped and counted, later events too.
   */
  close(waitMs?: number): Promise<void>;
}

/** A bounded queue in front of an async delivery; one delivery at a time keeps events in order. */
export function queuedSink(
  name: string,
  deliver: (event: SecurityEvent) => Promise<void>,
  capacity = 10_000,
  onClose?: () => Promise<void>,
): EventSink {
  const queue: SecurityEvent[] = [];
  let dropped = 0;
  let running: Promise<void> | undefined;
  let stopped = false;
  const drain = async (): Promise<void> => {
    while (queue.length > 0 && !stopped) {
      const next = queue[0]!;
      // A failed delivery is the sink's business (retries inside deliver); the event is then dropped.
      await deliver(next).catch(() => void dropped++);
      queue.shift();
    }
    running = undefined;
  };
  return {
    name,
    emit(event) {
      if (stopped || queue.length >= capacity) {
        dropped++;
        return;
      }
      queue.push(event);
      running ??= drain();
    },
    get dropped() {
      return dropped;
    },
    get depth() {
      return queue.length;
    },
    async close(waitMs = 5000) {
      await Promise.race([running ?? Promise.resolve(), new Promise((r) => setTimeout(r, waitMs).unref())]);
      // A sink that cannot keep up must not go on delivering after close, keeping the process alive.
      stopped = true;
      // The event in delivery (the head of the queue) is counted by its delivery if that fails.
      const inDelivery = running ? 1 : 0;
      dropped += queue.length - inDelivery;
      queue.splice(inDelivery);
      await onClose?.();
    },
  };
}

export function streamSink(name: string, stream: NodeJS.WritableStream, onClose?: () => Promise<void>): EventSink {
  const write = (event: SecurityEvent): Promise<void> =>
    new Promise<void>((resolve, reject) =>
      stream.write(`${serializeEvent(event)}\n`, (error) => (error ? reject(error) : resolve())),
    );
  return queuedSink(name, write, 10_000, onClose);
}

export function fileSink(path: string): EventSink {
  mkdirSync(dirname(path), { recursive: true });
  const stream = createWriteStream(path, { flags: 'a' });
  return streamSink(`file:${path}`, stream, () => new Promise<void>((r) => stream.end(() => r())));
}

/** XADD to a stream capped at about `maxLen` entries, so the stream itself stays bounded. */
export function redisStreamSink(redis: Redis, key: string, maxLen: number): EventSink {
  return queuedSink(`redis:${key}`, async (event) => {
    await redis.xadd(key, 'MAXLEN', '~', String(maxLen), '*', 'event', serializeEvent(event));
  });
}

/** POST to a webhook; retried with exponential backoff, then dropped and counted. */
export function httpSink(url: string, attempts = 4, baseDelayMs = 200, timeoutMs = 5000): EventSink {
  return queuedSink(`http:${new URL(url).host}`, async (event) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: serializeEvent(event),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (response.ok) return;
        throw new Error(`webhook answered ${response.status}`);
      } catch (error) {
        if (attempt >= attempts) throw error;
        await new Promise((r) => setTimeout(r, baseDelayMs * 2 ** (attempt - 1)));
      }
    }
  });
}

export function fanOut(sinks: readonly EventSink[]): EventSink & { readonly sinks: readonly EventSink[] } {
  return {
    name: 'all',
    sinks,
    emit: (event) => sinks.forEach((s) => s.emit(event)),
    get dropped() {
      return sinks.reduce((n, s) => n + s.dropped, 0);
    },
    get depth() {
      return sinks.reduce((n, s) => n + s.depth, 0);
    },
    close: async (waitMs?: number) => void (await Promise.all(sinks.map((s) => s.close(waitMs)))),
  };
}
