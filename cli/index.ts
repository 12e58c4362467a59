export type { DiscoveryConfig } from './config/server-config';
export { serviceAccountClient, upstreamTargetOf } from './runtime/upstream-target-of';
