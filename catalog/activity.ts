/**
 * What happened, for the catalog's pages: statements and refusals per data product in ten-minute
 * buckets over the last 24 hours, masked-column reads per tag, and the newest security events. Fed
 * in process (a tee of the statement observer and one more event sink), so a page shows a refusal
 * as soon as the analyst has seen it. Bounded: 24 hours of buckets per data product, a fixed number
 * of events. Holds counts, tags, rule ids and event texts, never a value read from a data product.
 */
import type { EventSink, SecurityEvent } from '../audit';
import type { SessionEvent, StatementObserver, StatementRecord } from '../proxy';

export const BUCKET_MS = 10 * 60 * 1000;
export const WINDOW_MS = 24 * 60 * 60 * 1000;
const BUCKETS = WINDOW_MS / BUCKET_MS;
/** Data products are named by the client's database name; a cap keeps arbitrary names from growing the map. */
const MAX_PRODUCTS = 1000;

export interface Bucket {
  /** Start of the bucket, epoch ms (a multiple of BUCKET_MS). */
  readonly start: number;
  statements: number;
  refusals: number;
  /** Masked (not raw) reads per column tag. */
  readonly maskedByTag: Map<string, number>;
}

/** Tags of the columns a statement read masked, hashed, nulled...: asked once per distinct decision. */
export type MaskedTagsOf = (record: StatementRecord) => readonly string[];

export class CatalogActivity {
  private readonly products = new Map<string, Bucket[]>();
  private readonly events: SecurityEvent[] = [];
  private readonly tagsCache = new WeakMap<object, readonly string[]>();

  constructor(
    private readonly maskedTagsOf: MaskedTagsOf = () => [],
    private readonly maxEvents = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** One statement as the audit observer saw it. Cheap: a bucket lookup and a few increments. */
  statement(record: StatementRecord): void {
    const bucket = this.countStatement(
      record.session.dataProduct,
      record.startedAt.getTime(),
      record.outcome.kind === 'refusal',
    );
    if (!bucket || record.outcome.kind === 'refusal') return;
    if (!record.outcome.reasons.some((r) => r.column !== undefined && r.effect !== 'allow')) return;
    // Statements from one template or prepared statement share their reasons array: tags once each.
    let tags = this.tagsCache.get(record.outcome.reasons);
    if (tags === undefined) {
      tags = this.maskedTagsOf(record);
      this.tagsCache.set(record.outcome.reasons, tags);
    }
    for (const tag of tags) bucket.maskedByTag.set(tag, (bucket.maskedByTag.get(tag) ?? 0) + 1);
  }

  /** Counts a statement (and whether it was refused) in its bucket; the audit log's history too. */
  countStatement(dataProduct: string, at: number, refused: boolean): Bucket | undefined {
    if (at < this.now() - WINDOW_MS) return undefined;
    const bucket = this.bucketFor(dataProduct, at);
    if (!bucket) return undefined;
    bucket.statements++;
    if (refused) bucket.refusals++;
    return bucket;
  }

  event(event: SecurityEvent): void {
    this.events.push(event);
    if (this.events.length > this.maxEvents) this.events.splice(0, this.events.length - this.maxEvents);
  }

  /** The newest events first. */
  recentEvents(): readonly SecurityEvent[] {
    return [...this.events].reverse();
  }

  /** The buckets of the last 24 hours of a data product, oldest first, every bucket present. */
  buckets(dataProduct: string): readonly Bucket[] {
    const now = this.now();
    const first = Math.floor((now - WINDOW_MS) / BUCKET_MS) * BUCKET_MS + BUCKET_MS;
    const held = new Map((this.products.get(dataProduct) ?? []).map((b) => [b.start, b]));
    const out: Bucket[] = [];
    for (let start = first; start <= now; start += BUCKET_MS)
      out.push(held.get(start) ?? { start, statements: 0, refusals: 0, maskedByTag: new Map() });
    return out;
  }

  totals(dataProduct: string): {
    readonly statements: number;
    readonly refusals: number;
    readonly maskedByTag: ReadonlyMap<string, number>;
  } {
    let statements = 0;
    let refusals = 0;
    const maskedByTag = new Map<string, number>();
    for (const b of this.buckets(dataProduct)) {
      statements += b.statements;
      refusals += b.refusals;
      for (const [tag, n] of b.maskedByTag) maskedByTag.set(tag, (maskedByTag.get(tag) ?? 0) + n);
    }
    return { statements, refusals, maskedByTag };
  }

  /** The statement observer, recording here after the audit observer has run. */
  observe(inner: StatementObserver): StatementObserver {
    return {
      statementFinished: (record) => {
        inner.statementFinished(record);
        try {
          this.statement(record);
        } catch {
          // The catalog's bookkeeping never fails a statement.
        }
      },
      sessionEvent: (event: SessionEvent) => inner.sessionEvent(event),
      readyForStatements: () => inner.readyForStatements(),
    };
  }

  /** An event sink that keeps the newest events in memory (never drops, never blocks). */
  sink(): EventSink {
    return {
      name: 'catalog',
      emit: (event) => this.event(event),
      dropped: 0,
      depth: 0,
      close: async () => undefined,
    };
  }

  private bucketFor(dataProduct: string, at: number): Bucket | undefined {
    let buckets = this.products.get(dataProduct);
    if (!buckets) {
      if (this.products.size >= MAX_PRODUCTS) return undefined;
      buckets = [];
      this.products.set(dataProduct, buckets);
    }
    const start = Math.floor(at / BUCKET_MS) * BUCKET_MS;
    const last = buckets[buckets.length - 1];
    if (last && last.start === start) return last;
    const found = buckets.find((b) => b.start === start);
    if (found) return found;
    const bucket: Bucket = { start, statements: 0, refusals: 0, maskedByTag: new Map() };
    buckets.push(bucket);
    buckets.sort((a, b) => a.start - b.start);
    while (buckets.length > BUCKETS + 1) buckets.shift();
    return bucket;
  }
}
