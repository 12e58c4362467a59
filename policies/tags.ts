/**
 * Tags name what a column holds. They come from the policy files and from the data product itself:
 * a column comment containing `pgveil:tags=pii.email,pii.contact` tags that column. Tags are
 * hierarchical: a rule on `pii` covers `pii.email`.
 */
import type { RelationColumnRef, RelationRef } from './decision';
import type { DataProductConfig } from './policy-model';

const COMMENT_TAGS = /pgveil:tags=([a-z0-9_.,]+)/;

export function commentTags(comment: string | undefined): string[] {
  const match = comment ? COMMENT_TAGS.exec(comment) : null;
  return match ? match[1]!.split(',').filter((t) => t.length > 0) : [];
}

export function columnTags(
  product: DataProductConfig | undefined,
  relation: RelationRef,
  column: RelationColumnRef,
): string[] {
  const tables = product?.tables ?? {};
  const declared = tables[`${relation.schema}.${relation.name}`] ?? tables[relation.name];
  return [...commentTags(column.comment), ...(declared?.columns[column.name] ?? [])];
}

/** Does a rule's tag cover a column's tag? `pii` covers `pii` and `pii.email`, not `piix`. */
export function tagMatches(ruleTag: string, columnTag: string): boolean {
  return columnTag === ruleTag || columnTag.startsWith(`${ruleTag}.`);
}
