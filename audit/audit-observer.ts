/**
 * The StatementObserver: one audit record per statement (normalized SQL by default, so literal
 * values are not copied into the log), and a security event per refusal or failed authentication.
 */
import { normalizeSync } from 'libpg-query';
import type { SessionEvent, StatementObserver, StatementRecord } from '../proxy/statement-gate';
import type { AuditLog } from './audit-log';
import type { EventSink, SecurityEvent } from './security-events';

export interface AuditObserverOptions {
  readonly log: AuditLog;
  readonly events: EventSink;
  readonly rawStatements: boolean;
  readonly failClosed: boolean;
}

function normalized(sql: string, raw: boolean): string {
  if (raw) return sql;
  try {
    return normalizeSync(sql);
  } catch {
    return '(unparseable statement)';
  }
}

export function createAuditObserver(options: AuditObserverOptions): StatementObserver {
  return {
    statementFinished(record: StatementRecord) {
      const { session, outcome } = record;
      const decision = outcome.kind === 'refusal' ? 'refused' : outcome.rewritten ? 'rewritten' : 'allowed';
      options.log.append({
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
        statement: normalized(record.sql, options.rawStatements),
        rewritten: outcome.kind === 'plan' && outcome.rewritten ? normalized(outcome.sql, options.rawStatements) : null,
        policyVersion: outcome.policyVersion,
        rules: outcome.kind === 'plan' ? [...new Set(outcome.reasons.map((r) => r.ruleId))] : outcome.reasons,
        decision,
        rows: record.rows,
        durationMs: Math.round(record.durationMs * 1000) / 1000,
        error: record.error ?? null,
      });
      if (outcome.kind === 'refusal') {
        options.events.emit(event('statement_refused', 'high', session.principal.user, session.sessionId, session.clientAddress, session.dataProduct, outcome.message, outcome.reasons));
      }
    },
    sessionEvent(e: SessionEvent) {
      if (e.kind === 'session_start' || e.kind === 'session_end' || e.kind === 'auth_success') return;
      options.events.emit(event(e.kind, e.kind === 'auth_failure' ? 'medium' : 'low', e.user, e.sessionId, e.clientAddress, e.dataProduct, e.detail, []));
    },
    readyForStatements: () => !options.failClosed || options.log.writable,
  };
}

function event(kind: string, severity: SecurityEvent['severity'], user: string | undefined, session: string, client: string, dataProduct: string | undefined, message: string, reasons: readonly string[]): SecurityEvent {
  return { time: new Date().toISOString(), kind, severity, actor: { user: user ?? null, session, client }, dataProduct: dataProduct ?? null, message, reasons: [...reasons] };
}
