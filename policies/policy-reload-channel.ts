/**
 * Replicas announce policy versions to each other over Redis pub/sub: the one that loads a change
 * publishes its version; the others reload their files at once instead of waiting for their own
 * watcher (or ConfigMap sync). A replica whose files are not updated yet keeps its running version.
 */
import type Redis from 'ioredis';
import type { PolicyStore } from './policy-store';

export function announceTo(redis: Redis, channel: string): (version: string) => void {
  return (version) => void redis.publish(channel, version).catch(() => undefined);
}

export async function followAnnouncements(subscriber: Redis, channel: string, store: () => PolicyStore): Promise<void> {
  subscriber.on('message', (from: string, version: string) => {
    if (from === channel && version !== store().current().version) store().reload();
  });
  await subscriber.subscribe(channel);
}
