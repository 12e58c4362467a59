/**
 * One catalog snapshot per data product, loaded with the service account on first use and
 * refreshed in the background once older than `refreshSeconds` (statements keep using the
 * previous snapshot meanwhile). refresh() forces a reload, for DDL announced by a data owner.
 * Whether each connection could be made is reported to `reachability` (upstream-health.ts).
 */
import { Client } from 'pg';
import { loadCatalog, type CatalogSnapshot } from '../../rewriter';
import type { UpstreamTarget } from '../../proxy';

/** Told whether the service account could connect, so a load is also news about the upstream. */
export interface UpstreamReachability {
  connected(dataProduct: string, target: UpstreamTarget): void;
  failed(dataProduct: string, target: UpstreamTarget, error: unknown): void;
}

interface Entry {
  snapshot?: CatalogSnapshot;
  loadedAt: number;
  loading?: Promise<CatalogSnapshot>;
}

export class CatalogCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly target: (dataProduct: string) => UpstreamTarget | undefined,
    private readonly refreshSeconds: number,
    private readonly reachability?: UpstreamReachability,
  ) {}

  get(dataProduct: string): CatalogSnapshot | Promise<CatalogSnapshot> {
    const entry = this.entries.get(dataProduct);
    if (entry?.snapshot) {
      if (Date.now() - entry.loadedAt > this.refreshSeconds * 1000 && !entry.loading) void this.refresh(dataProduct).catch(() => undefined);
      return entry.snapshot;
    }
    return entry?.loading ?? this.refresh(dataProduct);
  }

  refresh(dataProduct: string): Promise<CatalogSnapshot> {
    const entry = this.entries.get(dataProduct) ?? { loadedAt: 0 };
    this.entries.set(dataProduct, entry);
    const loading = this.load(dataProduct).then(
      (snapshot) => {
        entry.snapshot = snapshot;
        entry.loadedAt = Date.now();
        entry.loading = undefined;
        return snapshot;
      },
      (error: unknown) => {
        entry.loading = undefined;
        throw error;
      },
    );
    entry.loading = loading;
    return loading;
  }

  private async load(dataProduct: string): Promise<CatalogSnapshot> {
    const target = this.target(dataProduct);
    if (!target) throw new Error(`unknown data product "${dataProduct}"`);
    const client = new Client({
      host: target.host,
      port: target.port,
      database: target.database,
      user: target.user,
      password: target.password,
      ssl: target.ssl && target.ssl.mode !== 'disable' ? { rejectUnauthorized: target.ssl.mode === 'verify-full', ca: target.ssl.ca } : false,
      connectionTimeoutMillis: 5000,
      application_name: 'pgveil catalog',
    });
    try {
      await client.connect();
    } catch (error) {
      this.reachability?.failed(dataProduct, target, error);
      throw error;
    }
    this.reachability?.connected(dataProduct, target);
    try {
      return await loadCatalog(client);
    } finally {
      await client.end();
    }
  }
}
