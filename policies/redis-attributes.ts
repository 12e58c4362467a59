/**
 * Attributes shared by all replicas in Redis: per-user attributes (a hash) and just-in-time grants
 * (one key per grant, with a TTL, so they expire by themselves). Reads come from a local copy that
 * is refreshed in the background, so a statement never waits for Redis; an expired grant stops
 * counting at its expiry time even before the next refresh. When Redis is unreachable the last
 * known values serve for `maxStaleMs`, then the user's statements are refused until it is back.
 */
import type Redis from 'ioredis';
import type { AttributeValue } from './principal';

export interface RedisAttributeOptions {
  readonly keyPrefix: string;
  /** How often a user's copy is refreshed while in use. */
  readonly refreshMs: number;
  /** How long last known values may serve while Redis is unreachable. */
  readonly maxStaleMs: number;
  readonly onOutage?: (detail: string) => void;
  readonly onRecovery?: () => void;
}

interface Grant {
  readonly attribute: string;
  readonly value: string;
  readonly expiresAt: number;
}

interface Entry {
  attributes: Record<string, string>;
  grants: Grant[];
  fetchedAt: number;
  refreshing?: Promise<void>;
}

export type AttributeLookup = { readonly ok: true; readonly attributes: Readonly<Record<string, AttributeValue>> } | { readonly ok: false; readonly reason: string };

export class RedisAttributeSource {
  private readonly entries = new Map<string, Entry>();
  private outage = false;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisAttributeOptions,
  ) {}

  private attributesKey = (user: string): string => `${this.options.keyPrefix}attributes:${user}`;
  private grantKey = (user: string, attribute: string, value: string): string => `${this.options.keyPrefix}grant:${user}:${attribute}:${value}`;

  /** Loads a user's attributes now (at login). */
  async load(user: string): Promise<AttributeLookup> {
    await this.refresh(user);
    return this.current(user);
  }

  /** The user's attributes as of now, from the local copy; schedules a refresh when it is old. */
  current(user: string, now = Date.now()): AttributeLookup {
    const entry = this.entries.get(user);
    if (!entry) {
      void this.refresh(user);
      return { ok: false, reason: 'attributes not loaded yet' };
    }
    if (now - entry.fetchedAt > this.options.refreshMs && !entry.refreshing) void this.refresh(user);
    if (now - entry.fetchedAt > this.options.maxStaleMs) return { ok: false, reason: 'attribute store unreachable for too long' };
    const out: Record<string, AttributeValue> = { ...entry.attributes };
    for (const grant of entry.grants) {
      if (grant.expiresAt <= now) continue;
      const existing = out[grant.attribute];
      const list = existing === undefined ? [] : typeof existing === 'string' ? [existing] : [...existing];
      if (!list.includes(grant.value)) list.push(grant.value);
      out[grant.attribute] = list.length === 1 ? list[0]! : list;
    }
    return { ok: true, attributes: out };
  }

  private refresh(user: string): Promise<void> {
    const entry = this.entries.get(user);
    if (entry?.refreshing) return entry.refreshing;
    const refreshing = this.fetch(user)
      .then((fresh) => {
        this.entries.set(user, { ...fresh, fetchedAt: Date.now() });
        if (this.outage) {
          this.outage = false;
          this.options.onRecovery?.();
        }
      })
      .catch((error: Error) => {
        if (entry) entry.refreshing = undefined;
        if (!this.outage) {
          this.outage = true;
          this.options.onOutage?.(`attribute store unreachable: ${error.message}`);
        }
      });
    if (entry) entry.refreshing = refreshing;
    return refreshing;
  }

  private async fetch(user: string): Promise<{ attributes: Record<string, string>; grants: Grant[] }> {
    const attributes = await this.redis.hgetall(this.attributesKey(user));
    const grants: Grant[] = [];
    const prefix = this.grantKey(user, '', '').slice(0, -1);
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 200);
      cursor = next;
      for (const key of keys) {
        const ttl = await this.redis.pttl(key);
        if (ttl <= 0) continue;
        const [attribute = '', ...value] = key.slice(prefix.length).split(':');
        grants.push({ attribute, value: value.join(':'), expiresAt: Date.now() + ttl });
      }
    } while (cursor !== '0');
    return { attributes, grants };
  }

  async setAttribute(user: string, attribute: string, value: string): Promise<void> {
    await this.redis.hset(this.attributesKey(user), attribute, value);
  }

  async grant(user: string, attribute: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.grantKey(user, attribute, value), '1', 'EX', ttlSeconds);
  }

  /** Removes a grant (one value, or every value of the attribute). Returns how many were removed. */
  async revoke(user: string, attribute: string, value?: string): Promise<number> {
    if (value !== undefined) return this.redis.del(this.grantKey(user, attribute, value));
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${escapeGlob(this.grantKey(user, attribute, ''))}*`, 'COUNT', 200);
      cursor = next;
      if (keys.length > 0) removed += await this.redis.del(...keys);
    } while (cursor !== '0');
    return removed;
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
