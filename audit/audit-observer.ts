/**
 * The StatementObserver: one audit record per statement (normalized SQL by default, so literal
 * values are not copied into the log), a security event per refusal, failed authentication,
 * protocol violation or anomaly, and the metrics.
 */
import { normalizeSync } from 'libpg-query';
import type { SessionEvent, StatementObserver, StatementRecord } from '../proxy';
import type { AuditLog } from './audit-log';
import type { EventSink, SecurityEvent, SecurityEventKind } from './security-events';
import type { PgveilMetrics } from '../ops';
import type { AnomalyDetector } from './anomaly-detector';
import { canonicalize } from 'json-canonicalize';
import { outcomeJson, principalJson, sessionJson } from './audit-record-parts';

export interface AuditObserverOptions {
  readonly log: AuditLog;
  readonly events: EventSink;
  readonly rawStatements: boolean;
  readonly failClosed: boolean;
  readonly metrics?: PgveilMetrics;
  readonly anomalies?: AnomalyDetector;
}

/** Statements repeat (prepared statements, tools): normalize each text once. */
const normalizedTexts = new Map<string, string>();
const NORMALIZED_CAPACITY = 5000;

function normalized(sql: string, raw: boolean): string {
  if (raw) return sql;
  let text = normalizedTexts.get(sql);
  if (text === undefined) {
    try {
      text = normalizeSync(sql);
    } catch {
      text = '(unparseable statement)';
    }
    if (normalizedTexts.size >= NORMALIZED_CAPACITY)
      normalizedTexts.delete(normalizedTexts.keys().next().value as string);
    normalizedTexts.set(sql, text);
  }
  return text;
}

const jsonTexts = new Map<string, string>();

/**
 * A statement text as a JSON string (its RFC 8785 form too); the same texts recur, so each is
 * escaped once.
 */
function jsonText(text: string): string {
  let json = jsonTexts.get(text);
  if (json === undefined) {
    json = JSON.stringify(text);
    if (jsonTexts.size >= NORMALIZED_CAPACITY) jsonTexts.delete(jsonTexts.keys().next().value as string);
    jsonTexts.set(text, json);
  }
  return json;
}

export function createAuditObserver(options: AuditObserverOptions): StatementObserver {
  const { metrics } = options;
  return {
    statementFinished(record: StatementRecord) {
      const { session, outcome } = record;
      // An EXECUTE or FETCH passes upstream as written, but runs a statement whose protected relations
      // were substituted (the session adds that statement's relations and reasons to the outcome):
      // its answer is as rewritten as the statement's own.
      const decision =
        outcome.kind === 'refusal'
          ? 'refused'
          : outcome.rewritten || outcome.relations.length > 0
            ? 'rewritten'
            : 'allowed';
      const statement =
        outcome.kind === 'plan' && outcome.audit && !options.rawStatements
          ? outcome.audit.statement
          : normalized(record.sql, options.rawStatements);
      const rewritten =
        outcome.kind === 'plan' && outcome.rewritten
          ? outcome.audit && !options.rawStatements
            ? outcome.audit.rewritten
            : normalized(outcome.sql, options.rawStatements)
          : null;
      // One record per statement: the parts that repeat (session, principal, decision, texts) are
      // serialized once, and concatenated here with the members in RFC 8785 order.
      const { dataProduct, session: sessionObject } = sessionJson(session);
      const who = principalJson(outcome.decidedFor ?? session.principal);
      const why = outcomeJson(outcome);
      const error = record.error
        ? `{"message":${JSON.stringify(record.error.message)},"sqlstate":${JSON.stringify(record.error.sqlstate)}}`
        : 'null';
      const rowLimit = outcome.kind === 'plan' && outcome.rowLimit !== undefined ? outcome.rowLimit : null;
      const head = `{"dataProduct":${dataProduct},"decision":"${decision}","durationMs":${Math.round(record.durationMs * 1000) / 1000},"error":${error},`;
      // An external port's answer: the epsilon it spent and what is left (members in RFC 8785 order).
      const privacy = outcome.kind === 'plan' && outcome.privacy ? `,"privacy":${canonicalize(outcome.privacy)}` : '';
      const tail = `,"principal":${who.principal}${privacy},"protocol":"${record.protocol}","reasons":${why.reasons},"relations":${why.relations},"rewritten":${rewritten === null ? 'null' : jsonText(rewritten)},"rowLimit":${rowLimit},"rows":${record.rows},"rules":${why.rules},"session":${sessionObject},"statement":${jsonText(statement)},"time":"${record.startedAt.toISOString()}","user":${who.user}}`;
      const written = options.log.appendCanonical(
        head,
        (chain) => `"number":${chain.number},"policyVersion":${why.policyVersion},"prev":"${chain.prev}"${tail}`,
      );
      if (!written) metrics?.auditFailures.inc();
      metrics?.statements.inc(1, decision);
      metrics?.statementSeconds.observe(record.durationMs / 1000);
      metrics?.rows.inc(record.rows);
      if (outcome.kind === 'plan' && outcome.privacy) {
        metrics?.privacyEpsilon.inc({ port: outcome.privacy.port }, Number(outcome.privacy.epsilon));
        metrics?.privacyAnswers.inc({
          port: outcome.privacy.port,
          result: outcome.privacy.cached ? 'cached' : 'spent',
        });
      }
      const actor = { user: session.principal.user, session: session.sessionId, client: session.clientAddress };
      if (record.error?.sqlstate === '54000') {
        options.events.emit(
          event('limit_exceeded', 'medium', actor, session.dataProduct, record.error.message, ['row_limit']),
        );
      }
      if (outcome.kind === 'refusal') {
        for (const rule of outcome.reasons) metrics?.refusals.inc({ rule });
        options.events.emit(
          event('statement_refused', 'high', actor, session.dataProduct, outcome.message, outcome.reasons),
        );
      }
      const anomaly = options.anomalies?.observe(session.principal.user, record.rows, outcome.kind === 'refusal');
      if (anomaly)
        options.events.emit(event(anomaly.kind, 'high', actor, session.dataProduct, anomaly.message, ['anomaly']));
    },
    sessionEvent(e: SessionEvent) {
      if (e.kind === 'session_start') {
        metrics?.clientConnections.inc();
        // A pooled session holds no connection of its own: its pool's are pgveil_pool_connections.
        if (!e.pooled) metrics?.upstreamConnections.inc();
        return;
      }
      if (e.kind === 'session_end') {
        metrics?.clientConnections.dec();
        if (!e.pooled) metrics?.upstreamConnections.dec();
        return;
      }
      if (e.kind === 'auth_success') return;
      if (e.kind === 'auth_failure') metrics?.authFailures.inc();
      const severity = e.kind === 'auth_failure' || e.kind === 'protocol_violation' ? 'medium' : 'low';
      options.events.emit(
        event(
          e.kind,
          severity,
          { user: e.user ?? null, session: e.sessionId, client: e.clientAddress },
          e.dataProduct,
          e.detail,
          [],
        ),
      );
    },
    readyForStatements: () => !options.failClosed || options.log.writable,
    recordsPending: () => options.log.pending,
    whenRecorded: (release) => options.log.whenWritten(release),
    flushRecords: () => options.log.flush(),
  };
}

function event(
  kind: SecurityEventKind,
  severity: SecurityEvent['severity'],
  actor: SecurityEvent['actor'],
  dataProduct: string | undefined,
  message: string,
  reasons: readonly string[],
): SecurityEvent {
  return {
    time: new Date().toISOString(),
    kind,
    severity,
    actor,
    dataProduct: dataProduct ?? null,
    message,
    reasons: [...reasons],
  };
}
