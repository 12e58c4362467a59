/**
 * What the pages show, computed per request from the running policy version (so a reload shows
 * at the next page load), the upstream catalog of each data product and the activity kept in
 * process. Names, types, tags, rules and counts only: nothing here reads a row of a data product.
 */
import type { PolicyBundle } from '../policies';
import type { DecisionResult, Literal, RelationRef, RowPredicate } from '../policies';
import type { Principal } from '../policies';
import { accessMatrix, type AccessMatrix } from '../policies';
import { commentTags } from '../policies';
import type { PolicyRule } from '../policies';
import type { UntaggedColumn } from '../discovery';
import type { CatalogActivity } from './activity';
import type { UntaggedState } from './untagged-scan';

export interface CatalogSources {
  /** The running policy version (after reloads). */
  readonly bundle: () => PolicyBundle;
  readonly policyPaths: readonly string[];
  /** A data product's user relations from its upstream catalog (throws when it cannot be read). */
  readonly relations: (dataProduct: string) => Promise<readonly RelationRef[]>;
  readonly activity: CatalogActivity;
  readonly untagged: () => UntaggedState;
  /** Where analysts connect: the proxy's listener (the data products' output port). */
  readonly listener: { readonly host: string; readonly port: number; readonly tls: boolean };
}

type TagSource = 'declared' | 'comment' | 'discovered';

export interface ColumnTag {
  readonly tag: string;
  readonly source: TagSource;
  /** For discovered (proposed, not yet tagged) tags. */
  readonly confidence?: number;
}

/** The principals of the matrix, exactly as `pgveil access-matrix` builds them: the users file. */
export function matrixProfiles(bundle: PolicyBundle): Array<{ readonly name: string; readonly principal: Principal }> {
  return [...bundle.users.values()].map((u) => ({
    name: u.name,
    principal: { user: u.name, groups: u.groups ?? [], attributes: u.attributes ?? {} },
  }));
}

/** Each tag of a column with where it comes from: the policy file, the column comment, discovery. */
export function columnTagsWithSource(
  bundle: PolicyBundle,
  relation: RelationRef,
  column: RelationRef['columns'][number],
  untagged: ReadonlyMap<string, UntaggedColumn>,
): ColumnTag[] {
  const product = bundle.dataProducts.get(relation.dataProduct);
  const tables = product?.tables ?? {};
  const declared = (tables[`${relation.schema}.${relation.name}`] ?? tables[relation.name])?.columns[column.name] ?? [];
  const tags: ColumnTag[] = [
    ...declared.map((tag) => ({ tag, source: 'declared' as const })),
    ...commentTags(column.comment).map((tag) => ({ tag, source: 'comment' as const })),
  ];
  const found = untagged.get(matrixColumnName(relation, column.name));
  if (found)
    for (const tag of found.proposedTags) tags.push({ tag, source: 'discovered', confidence: found.confidence });
  return tags;
}

/** `dataProduct:schema.relation.column`, as the access matrix and discovery name columns. */
export function matrixColumnName(relation: RelationRef, column: string): string {
  return `${relation.dataProduct}:${relation.schema}.${relation.name}.${column}`;
}

export interface ProductMatrix {
  readonly matrix: AccessMatrix;
  /** decisions[relationIndex][profileIndex] */
  readonly decisions: ReadonlyArray<readonly DecisionResult[]>;
  readonly subscribed: readonly boolean[];
}

/** The access matrix of one data product (the same function the CLI prints) and each decision behind it. */
export function productMatrix(bundle: PolicyBundle, relations: readonly RelationRef[]): ProductMatrix {
  const profiles = matrixProfiles(bundle);
  const matrix = accessMatrix(bundle.snapshot, profiles, relations);
  const decisions = relations.map((r) =>
    profiles.map((p) => bundle.snapshot.decide(p.principal, r, p.principal.purpose)),
  );
  const product = relations[0]?.dataProduct;
  const subscribed = profiles.map((p) =>
    product === undefined ? false : bundle.snapshot.subscription(p.principal, product).allowed,
  );
  return { matrix, decisions, subscribed };
}

/** The rules that can apply to a data product: global rules for it (or all), its domain's rules. */
export function rulesFor(
  bundle: PolicyBundle,
  dataProduct: string,
): Array<{ readonly rule: PolicyRule; readonly scope: 'global' | 'domain' }> {
  const domain = bundle.dataProducts.get(dataProduct)?.domain;
  return [
    ...bundle.set.globalPolicies
      .filter((r) => !r.dataProducts || r.dataProducts.includes(dataProduct))
      .map((rule) => ({ rule, scope: 'global' as const })),
    ...bundle.set.domainPolicies.filter((r) => r.domain === domain).map((rule) => ({ rule, scope: 'domain' as const })),
  ];
}

/** A row predicate as readable text (policy values, never data). */
export function predicateText(p: RowPredicate): string {
  const lit = (v: Literal): string =>
    v === null ? 'NULL' : typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : String(v);
  switch (p.op) {
    case 'eq':
      return `${p.column} = ${lit(p.value)}`;
    case 'in':
      return `${p.column} IN (${p.values.map(lit).join(', ')})`;
    case 'and':
    case 'or':
      return p.args.map((a) => `(${predicateText(a)})`).join(` ${p.op.toUpperCase()} `);
    case 'not':
      return `NOT (${predicateText(p.arg)})`;
    case 'template':
      return `${p.sql} with ${p.params.map((v) => (isList(v) ? `[${v.map(lit).join(', ')}]` : lit(v))).join(', ')}`;
  }
}

function isList(v: Literal | readonly Literal[]): v is readonly Literal[] {
  return Array.isArray(v);
}

/** What a principal gets for a relation's rows. */
export function rowsText(result: DecisionResult): string {
  if (result.errors.length > 0) return `refused: ${result.errors.join('; ')}`;
  const d = result.decision;
  if (d.access === 'deny') return 'no access';
  if (d.rows.kind === 'all') return 'all rows';
  if (d.rows.kind === 'none') return 'no rows';
  return predicateText(d.rows.predicate);
}

/** A column action with its parameters, for a cell's detail. */
export function actionText(result: DecisionResult, column: string): string {
  if (result.errors.length > 0) return 'error';
  if (result.decision.access === 'deny') return 'deny';
  const c = result.decision.columns[column];
  if (!c) return 'raw';
  const a = c.action;
  switch (a.kind) {
    case 'allow':
      return 'raw';
    case 'mask':
      return `mask (keep first ${a.keepFirst}, last ${a.keepLast}, with "${a.maskChar}")`;
    case 'mask_email':
      return 'mask e-mail';
    case 'regex':
      return `regex ${a.pattern} -> ${a.replacement}`;
    case 'hash':
      return 'keyed hash';
    case 'null':
      return 'null';
    case 'constant':
      return `constant ${JSON.stringify(a.value)}`;
    case 'round':
      return `round to ${a.digits} digit(s)`;
    case 'truncate_date':
      return `truncate to ${a.unit}`;
    case 'deny':
      return 'deny (statements naming it are refused)';
  }
}
