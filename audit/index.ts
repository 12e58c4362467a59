/** audit/: the audit log with its hash chain, security events, and the observer the proxy reports to. */
export { AuditLog, verifyAuditFiles, type VerifyResult } from './audit-log';
export { createAuditObserver } from './audit-observer';
export { fanOut, fileSink, streamSink, type EventSink, type SecurityEvent } from './security-events';
