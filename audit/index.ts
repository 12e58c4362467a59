/** audit/: the audit log with its hash chain, security events, and the observer the proxy reports to. */
export {
  AuditLog,
  verifyAuditFiles,
  chainOrder,
  rotatedFiles,
  GENESIS,
  type VerifyResult,
  type ChainAnchor,
  type ChainHead,
} from './audit-log';
export {
  startCheckpoints,
  signCheckpoint,
  readCheckpoints,
  anchorsOf,
  checkpointEvent,
  type AuditCheckpoint,
  type Checkpoints,
} from './audit-checkpoint';
export { AnomalyDetector, DEFAULT_ANOMALY_OPTIONS } from './anomaly-detector';
export { createAuditObserver } from './audit-observer';
export {
  fanOut,
  fileSink,
  streamSink,
  redisStreamSink,
  httpSink,
  queuedSink,
  type EventSink,
  type SecurityEvent,
  type SecurityEventKind,
} from './security-events';
export type { AnomalyOptions } from './anomaly-detector';
