/**
 * The pools of a proxy, one per upstream database. A reload that changes an upstream's pool
 * settings or credentials retires the old pool (its connections close as they come back) and
 * starts a new one; sessions borrowing afterwards use the new one.
 */
import type { UpstreamTarget } from '../upstream/upstream-target';
import { UpstreamPool } from './upstream-pool';

export class PoolRegistry {
  private readonly pools = new Map<string, { readonly signature: string; readonly pool: UpstreamPool }>();

  /** The pool serving `target`, or undefined when the target is not pooled. */
  poolFor(target: UpstreamTarget): UpstreamPool | undefined {
    if (!target.pool) return undefined;
    const where = `${target.host}:${target.port}/${target.database}`;
    const signature = JSON.stringify([target.user, target.password, target.ssl, target.pool]);
    const known = this.pools.get(where);
    if (known?.signature === signature) return known.pool;
    known?.pool.retire();
    const pool = new UpstreamPool(target, target.pool, `data product database "${target.database}" at ${where}`);
    this.pools.set(where, { signature, pool });
    return pool;
  }

  /** Each live pool's connections and waiting clients, by upstream (host:port/database). */
  stats(): Array<{ upstream: string; open: number; idle: number; waiting: number }> {
    return [...this.pools].map(([upstream, { pool }]) => ({ upstream, ...pool.stats }));
  }

  close(): void {
    for (const { pool } of this.pools.values()) pool.retire();
    this.pools.clear();
  }
}
