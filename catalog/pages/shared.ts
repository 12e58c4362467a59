/** Pieces several pages use: a data product's relations, its output port, cells of the matrix. */
import { html, type SafeHtml } from '../html';
import type { RelationRef } from '../../policies';
import type { UntaggedColumn } from '../../discovery';
import type { CatalogSources } from '../catalog-model';

/** The relations, or why they could not be read (the upstream is down, the product unknown). */
export async function productRelations(
  sources: CatalogSources,
  dataProduct: string,
): Promise<{ readonly relations: readonly RelationRef[] } | { readonly error: string }> {
  try {
    return { relations: await sources.relations(dataProduct) };
  } catch (error) {
    return { error: `the catalog of "${dataProduct}" could not be read: ${(error as Error).message}` };
  }
}

/** How analysts reach a data product: pgveil's listener, the product as database name. */
export function outputPort(sources: CatalogSources, dataProduct: string): string {
  const { host, port, tls } = sources.listener;
  return `postgresql://${host}:${port}/${encodeURIComponent(dataProduct)}${tls ? '?sslmode=require' : ''}`;
}

export function untaggedByColumn(columns: readonly UntaggedColumn[]): Map<string, UntaggedColumn> {
  return new Map(columns.map((c) => [c.column, c]));
}

/** A tag with its source as a badge. */
export function tagBadge(tag: string, source: string, confidence?: number): SafeHtml {
  const label =
    source === 'discovered'
      ? `discovered${confidence !== undefined ? `, confidence ${confidence.toFixed(2)}` : ''}, no tag yet`
      : source === 'comment'
        ? 'from the column comment'
        : 'declared in the policy file';
  return html`<span class="tag tag-${source}" title="${label}">${tag} <span class="meta">(${source})</span></span>`;
}

export function when(ms: number | Date): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}
