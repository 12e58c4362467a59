/**
 * The StatementObserver: one audit record per statement (normalized SQL by default, so literal
 * values are not copied into the log), a security event per refusal, failed authentication,
 * protocol violation or anomaly, and the metrics.
 */
import { normalizeSync } from 'libpg-query';
import type { SessionEvent, StatementObserver, StatementRecord } from '../proxy/statement-gate';
import type { AuditLog } from './audit-log';
import type { EventSink, SecurityEvent } from './security-events';
import type { PgveilMetrics } from './metrics';
import type { AnomalyDetector } from './anomaly-detector';

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
    if (normalizedTexts.size >= NORMALIZED_CAPACITY) normalizedTexts.delete(normalizedTexts.keys().next().value as string);
    normalizedTexts.set(sql, text);
  }
  return text;
}

export function createAuditObserver(options: AuditObserverOptions): StatementObserver {
  const { metrics } = options;
  return {
    statementFinished(record: StatementRecord) {
      const { session, outcome } = record;
      const decision = outcome.kind === 'refusal' ? 'refused' : outcome.rewritten ? 'rewritten' : 'allowed';
      const written = options.log.append({
        time: record.startedAt.toISOString(),
        session: session.sessionId,
        client: session.clientAddress,
        application: session.applicationName ?? null,
        user: session.principal.user,
        groups: session.principal.groups,
        attributes: session.principal.attributes,
        purpose: session.principal.purpose ?? null,
        dataProduct: session.dataProduct,
        protocol: record.protocol,
        statement: outcome.kind === 'plan' && outcome.audit && !options.rawStatements ? outcome.audit.statement : normalized(record.sql, options.rawStatements),
        rewritten: outcome.kind === 'plan' && outcome.rewritten ? (outcome.audit && !options.rawStatements ? outcome.audit.rewritten : normalized(outcome.sql, options.rawStatements)) : null,
        policyVersion: outcome.policyVersion,
        rules: outcome.kind === 'plan' ? [...new Set(outcome.reasons.map((r) => r.ruleId))] : outcome.reasons,
        decision,
        rows: record.rows,
        durationMs: Math.round(record.durationMs * 1000) / 1000,
        error: record.error ?? null,
      });
      if (!written) metrics?.auditFailures.inc();
      metrics?.statements.inc({ decision });
      metrics?.statementSeconds.observe(record.durationMs / 1000);
      metrics?.rows.inc(record.rows);
      const actor = { user: session.principal.user, session: session.sessionId, client: session.clientAddress };
      if (record.error?.sqlstate === '54000') {
        options.events.emit(event('limit_exceeded', 'medium', actor, session.dataProduct, record.error.message, ['row_limit']));
      }
      if (outcome.kind === 'refusal') {
        for (const rule of outcome.reasons) metrics?.refusals.inc({ rule });
        options.events.emit(event('statement_refused', 'high', actor, session.dataProduct, outcome.message, outcome.reasons));
      }
      const anomaly = options.anomalies?.observe(session.principal.user, record.rows, outcome.kind === 'refusal');
      if (anomaly) options.events.emit(event(anomaly.kind, 'high', actor, session.dataProduct, anomaly.message, ['anomaly']));
    },
    sessionEvent(e: SessionEvent) {
      if (e.kind === 'session_start') {
        metrics?.clientConnections.inc();
        metrics?.upstreamConnections.inc();
        return;
      }
      if (e.kind === 'session_end') {
        metrics?.clientConnections.dec();
        metrics?.upstreamConnections.dec();
        return;
      }
      if (e.kind === 'auth_success') return;
      if (e.kind === 'auth_failure') metrics?.authFailures.inc();
      const severity = e.kind === 'auth_failure' || e.kind === 'protocol_violation' ? 'medium' : 'low';
      options.events.emit(event(e.kind, severity, { user: e.user ?? null, session: e.sessionId, client: e.clientAddress }, e.dataProduct, e.detail, []));
    },
    readyForStatements: () => !options.failClosed || options.log.writable,
  };
}

function event(kind: string, severity: SecurityEvent['severity'], actor: SecurityEvent['actor'], dataProduct: string | undefined, message: string, reasons: readonly string[]): SecurityEvent {
  return { time: new Date().toISOString(), kind, severity, actor, dataProduct: dataProduct ?? null, message, reasons: [...reasons] };
}
