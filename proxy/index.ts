/** proxy/: the wire-protocol server. The CLI builds ProxyOptions and calls createProxyServer. */
export { createProxyServer, type ProxyServer } from './proxy-server';
export { DEFAULT_LIMITS, type ProxyOptions, type ProxyLimits, type ProxyLogger } from './proxy-options';
export type { UpstreamTarget } from './upstream/upstream-target';
export type { StatementGate, StatementObserver, StatementRecord, SessionEvent, SessionInfo } from './statement-gate';
export { createScramVerifier } from './auth/scram';
export { PgError } from './pg-error';
export { parseScramVerifier, passwordMatchesVerifier } from './auth/scram';
export { parseSearchPath } from './session/search-path';
export { readDataRow, writeDataRow } from './protocol/data-row';
