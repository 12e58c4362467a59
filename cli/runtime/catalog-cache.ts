/**
 * One catalog snapshot per data product, loaded with the service account on first use and
 * refreshed in the background once older than `refreshSeconds` (statements keep using the
 * previous snapshot meanwhile). refresh() forces a reload, for DDL announced by a data owner.
 * Whether each connection could be made is reported to `reachability` (upstream-health.ts).
 * Every load looks for materialized view columns copied from tagged columns without a tag of their
 * own (served unmasked, see rewriter/matview-sources.ts) and reports each once while it lasts.
 */
import { serviceAccountClient } from './upstream-target-of';
import {
  loadCatalog,
  untaggedMatviewColumns,
  type CatalogSnapshot,
  type ColumnTags,
  type UntaggedMatviewColumn,
} from '../../rewriter';
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
  /** Untagged matview columns already reported (schema.name.column). */
  reported: Set<string>;
}

export interface CatalogCacheOptions {
  /** A column's tags as the data product's policies see them (its comment and declared tags). */
  readonly tagsOf: (dataProduct: string) => ColumnTags;
  /** Called once for every untagged materialized view column newly found at a load. */
  readonly onUntaggedMatview: (dataProduct: string, column: UntaggedMatviewColumn) => void;
  /** Told of every snapshot loaded (continuous discovery); must return at once. */
  readonly onLoaded?: (dataProduct: string, snapshot: CatalogSnapshot) => void;
}

export class CatalogCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly target: (dataProduct: string) => UpstreamTarget | undefined,
    private readonly refreshSeconds: number,
    private readonly reachability?: UpstreamReachability,
    private readonly options?: CatalogCacheOptions,
  ) {}

  get(dataProduct: string): CatalogSnapshot | Promise<CatalogSnapshot> {
    const entry = this.entries.get(dataProduct);
    if (entry?.snapshot) {
      if (Date.now() - entry.loadedAt > this.refreshSeconds * 1000 && !entry.loading)
        void this.refresh(dataProduct).catch(() => undefined);
      return entry.snapshot;
    }
    return entry?.loading ?? this.refresh(dataProduct);
  }

  refresh(dataProduct: string): Promise<CatalogSnapshot> {
    const entry = this.entries.get(dataProduct) ?? { loadedAt: 0, reported: new Set<string>() };
    this.entries.set(dataProduct, entry);
    const loading = this.load(dataProduct).then(
      (snapshot) => {
        entry.snapshot = snapshot;
        entry.loadedAt = Date.now();
        entry.loading = undefined;
        this.reportUntaggedMatviews(dataProduct, snapshot, entry);
        try {
          this.options?.onLoaded?.(dataProduct, snapshot);
        } catch {
          // A listener's failure is its own business, never the statement's that asked for the catalog.
        }
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

  private reportUntaggedMatviews(dataProduct: string, snapshot: CatalogSnapshot, entry: Entry): void {
    if (!this.options) return;
    const found = untaggedMatviewColumns(snapshot, this.options.tagsOf(dataProduct));
    const now = new Set<string>();
    for (const column of found) {
      const key = `${column.schema}.${column.name}.${column.column}`;
      now.add(key);
      if (!entry.reported.has(key)) this.options.onUntaggedMatview(dataProduct, column);
    }
    entry.reported = now;
  }

  private async load(dataProduct: string): Promise<CatalogSnapshot> {
    const target = this.target(dataProduct);
    if (!target) throw new Error(`unknown data product "${dataProduct}"`);
    const client = serviceAccountClient(target, 'pgveil catalog');
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
