/** ops/: what an operator runs pgveil with — Prometheus metrics, the admin port, the structured log. */
export { PgveilMetrics } from './metrics';
export { TallyCounter, TallyHistogram } from './tally-metrics';
export { createLogger, REDACTED_PATHS } from './logger';
export { startAdminServer, type AdminServer, type AdminActions, type ReadinessCheck } from './admin-server';
export { adminTokenFrom, bearerTokenMatches } from './bearer-token';
