/**
 * The StatementObserver: one audit record per statement (normalized SQL by default, so literal
 * values are not copied into the log), a security event per refusal, failed authentication,
 * protocol violation or anomaly, and the metrics.
 */
import { normalizeSync } from 'libpg-query';
import type { SessionEvent, SessionInfo, StatementObserver, StatementRecord } from '../proxy/statement-gate';
import type { RewriteOutcome } from '../rewriter/rewrite-types';
import type { AuditLog } from './audit-log';
import type { EventSink, SecurityEvent } from './security-events';
import type { PgveilMetrics } from '../ops/metrics';
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

const sessionJsons = new WeakMap<SessionInfo, string>();

/** The session's fields of an audit record, as JSON members (a session's info changes rarely). */
function sessionJson(session: SessionInfo): string {
  let json = sessionJsons.get(session);
  if (json === undefined) {
    const p = session.principal;
    json = JSON.stringify({ session: session.sessionId, client: session.clientAddress, application: session.applicationName ?? null, user: p.user, groups: p.groups, attributes: p.attributes, purpose: p.purpose ?? null, dataProduct: session.dataProduct }).slice(1, -1);
    sessionJsons.set(session, json);
  }
  return json;
}

const outcomeJsons = new WeakMap<readonly unknown[], string>();

/**
 * Policy version and rules of an outcome, as JSON members. Keyed by the outcome's reasons array,
 * which outlives the outcome: every statement served from one literal template gets an outcome
 * of its own (its own SQL) but shares the template's reasons, and so this entry. Keying by the
 * short-lived outcome would add a weak entry per statement, which the garbage collector pays for.
 */
function outcomeJson(outcome: RewriteOutcome): string {
  let json = outcomeJsons.get(outcome.reasons);
  if (json === undefined) {
    const rules = outcome.kind === 'plan' ? [...new Set(outcome.reasons.map((r) => r.ruleId))] : outcome.reasons;
    json = JSON.stringify({ policyVersion: outcome.policyVersion, rules }).slice(1, -1);
    outcomeJsons.set(outcome.reasons, json);
  }
  return json;
}

const jsonTexts = new Map<string, string>();

/** A statement text as a JSON string; the same texts recur, so each is escaped once. */
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
      const decision = outcome.kind === 'refusal' ? 'refused' : outcome.rewritten ? 'rewritten' : 'allowed';
      const statement = outcome.kind === 'plan' && outcome.audit && !options.rawStatements ? outcome.audit.statement : normalized(record.sql, options.rawStatements);
      const rewritten = outcome.kind === 'plan' && outcome.rewritten ? (outcome.audit && !options.rawStatements ? outcome.audit.rewritten : normalized(outcome.sql, options.rawStatements)) : null;
      // One record per statement: the parts that repeat (session, texts, rules) are serialized once.
      const written = options.log.appendJson(
        `{"time":${JSON.stringify(record.startedAt.toISOString())},${sessionJson(session)},"protocol":"${record.protocol}","statement":${jsonText(statement)},"rewritten":${rewritten === null ? 'null' : jsonText(rewritten)},${outcomeJson(outcome)},"decision":"${decision}","rows":${record.rows},"durationMs":${Math.round(record.durationMs * 1000) / 1000},"error":${record.error ? JSON.stringify(record.error) : 'null'}}`,
      );
      if (!written) metrics?.auditFailures.inc();
      metrics?.statements.inc(1, decision);
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
