/** A declared data product's upstream as the proxy's connection target (password resolved now). */
import type { UpstreamTarget } from '../../proxy';
import { upstreamPassword } from '../../policies';
import type { DataProductConfig } from '../../policies/policy-model';

export function upstreamTargetOf(product: DataProductConfig): UpstreamTarget {
  const u = product.upstream;
  return { host: u.host, port: u.port, database: u.database, user: u.user, password: upstreamPassword(product), ...(u.ssl ? { ssl: u.ssl } : {}) };
}
