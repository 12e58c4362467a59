/** proxy/pool/: transaction pooling of upstream connections (docs/pooling.md). */
export { PoolRegistry } from './pool-registry';
export { adoptSession, PooledUpstream } from './pooled-upstream';
export type { PooledConnection, UpstreamPool } from './upstream-pool';
