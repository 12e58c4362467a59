/**
 * Attributes shared by all replicas in Redis: per-user attributes (a hash) and just-in-time grants
 * (one key per grant, with a TTL, so they expire by themselves). Reads come from a local copy that
 * is refreshed in the background, so a statement never waits for Redis; an expired grant stops
 * counting at its expiry time even before the next refresh. When Redis is unreachable the last
 * known values serve for `maxStaleMs`, then the user's statements are refused until it is back.
 */
import type Redis from 'ioredis';
import type { GrantInForce } from './principal';

export interface RedisAttributeOptions {
  readonly keyPrefix: string;
  /** How often a user's copy is refreshed while in use. */
  readonly refreshMs: number;
  /** How long last known values may serve while Redis is unreachable. */
  readonly maxStaleMs: number;
  readonly onOutage?: (detail: string) => void;
  readonly onRecovery?: () => void;
}

type Grant = GrantInForce;

/** A grant's expiry is read again (as a TTL) at every refresh: within this much it is the same expiry. */
const EXPIRY_JITTER_MS = 1000;

interface Entry {
  attributes: Record<string, string>;
  grants: Grant[];
  fetchedAt: number;
  usedAt: number;
  refreshing?: Promise<void>;
}

/**
 * `attributes`: lasting values (they replace the users file's); `granted`: values added for a
 * while (they add to whatever the user already has).
 */
export type AttributeLookup =
  | {
      readonly ok: true;
      readonly attributes: Readonly<Record<string, string>>;
      readonly granted: Readonly<Record<string, readonly string[]>>;
    }
  | { readonly ok: false; readonly reason: string };

/** Users not seen for this long are no longer refreshed in the background. */
const IDLE_MS = 60_000;

export class RedisAttributeSource {
  private readonly entries = new Map<string, Entry>();
  private outage = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisAttributeOptions,
  ) {
    // Users in use are refreshed ahead of their statements, so a grant or a revoke counts from the
    // next statement after at most `refreshMs`.
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const [user, entry] of this.entries) if (now - entry.usedAt < IDLE_MS) void this.refresh(user);
    }, options.refreshMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private attributesKey = (user: string): string => `${this.options.keyPrefix}attributes:${user}`;
  private grantKey = (user: string, attribute: string, value: string): string =>
    `${this.options.keyPrefix}grant:${user}:${attribute}:${value}`;

  /** Loads a user's attributes now (at login). */
  async load(user: string): Promise<AttributeLookup> {
    await this.refresh(user);
    return this.current(user);
  }

  /** The user's attributes as of now, from the local copy (never waits for Redis). */
  current(user: string, now = Date.now()): AttributeLookup {
    const entry = this.entries.get(user);
    if (!entry) {
      void this.refresh(user);
      return { ok: false, reason: 'attributes not loaded yet' };
    }
    entry.usedAt = now;
    if (now - entry.fetchedAt > this.options.maxStaleMs)
      return { ok: false, reason: 'attribute store unreachable for too long' };
    const granted: Record<string, string[]> = {};
    for (const grant of entry.grants) {
      if (grant.expiresAt <= now) continue;
      const list = (granted[grant.attribute] ??= []);
      if (!list.includes(grant.value)) list.push(grant.value);
    }
    return { ok: true, attributes: entry.attributes, granted };
  }

  /** The user's grants in force now, with their expiry (for the audit record), from the local copy. */
  grantsInForce(user: string, now = Date.now()): readonly GrantInForce[] {
    return this.entries.get(user)?.grants.filter((g) => g.expiresAt > now) ?? [];
  }

  private refresh(user: string): Promise<void> {
    const entry = this.entries.get(user);
    if (entry?.refreshing) return entry.refreshing;
    const refreshing = this.fetch(user)
      .then((fresh) => {
        const grants = steadyExpiries(fresh.grants, this.entries.get(user)?.grants ?? []);
        this.entries.set(user, {
          attributes: fresh.attributes,
          grants,
          fetchedAt: Date.now(),
          usedAt: this.entries.get(user)?.usedAt ?? Date.now(),
        });
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
      const [next, keys] = await this.redis.scan(
        cursor,
        'MATCH',
        `${escapeGlob(this.grantKey(user, attribute, ''))}*`,
        'COUNT',
        200,
      );
      cursor = next;
      if (keys.length > 0) removed += await this.redis.del(...keys);
    } while (cursor !== '0');
    return removed;
  }
}

/**
 * Keeps the expiry already known for a grant read again: a TTL read later gives an expiry a few
 * milliseconds off, and the audit should name one expiry per grant (a grant given again, with a new
 * TTL, gets its new expiry).
 */
function steadyExpiries(fresh: readonly Grant[], known: readonly Grant[]): Grant[] {
  return fresh.map(
    (g) =>
      known.find(
        (k) =>
          k.attribute === g.attribute && k.value === g.value && Math.abs(k.expiresAt - g.expiresAt) < EXPIRY_JITTER_MS,
      ) ?? g,
  );
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
