/**
 * Rewrites are cached by everything they depend on: the SQL text, the policy version, the catalog
 * version, the principal (user, groups, attributes, purpose) and the search_path. A bounded LRU.
 */
import type { RewriteContext, RewriteOutcome } from './rewrite-types';
import type { Principal } from '../policies/principal';

const principalKeys = new WeakMap<Principal, string>();

function principalKey(p: Principal): string {
  let key = principalKeys.get(p);
  if (key === undefined) {
    key = JSON.stringify([p.user, p.groups, Object.entries(p.attributes).sort(([a], [b]) => (a < b ? -1 : 1)), p.purpose ?? null]);
    principalKeys.set(p, key);
  }
  return key;
}

export class RewriteCache {
  private readonly entries = new Map<string, RewriteOutcome>();
  hits = 0;
  misses = 0;

  constructor(private readonly capacity = 10_000) {}

  get(sql: string, context: RewriteContext, compute: () => RewriteOutcome): RewriteOutcome {
    const key = `${context.policies.version}\0${context.catalog.version}\0${context.dataProduct}\0${principalKey(context.principal)}\0${context.searchPath.join(',')}\0${sql}`;
    const found = this.entries.get(key);
    if (found) {
      this.hits++;
      // Refresh recency: Map keeps insertion order, so the first key is the least recently used.
      this.entries.delete(key);
      this.entries.set(key, found);
      return found;
    }
    this.misses++;
    const outcome = compute();
    this.entries.set(key, outcome);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    return outcome;
  }
}
