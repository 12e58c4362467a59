/**
 * decide(): which rules apply to this principal and relation, what each column becomes (the most
 * restrictive action wins) and which rows remain (every applicable filter must hold). Pure, never
 * throws; the rule ids that decided travel with the answer.
 */
import type {
  ColumnAction,
  DecisionReason,
  DecisionResult,
  Literal,
  PolicySnapshot,
  RelationDecision,
  RelationRef,
  RowAction,
  RowPredicate,
} from './decision';
import type { Principal } from './principal';
import type {
  Condition,
  DataProductConfig,
  FilterValue,
  PolicyRule,
  RowRule,
  SubscriptionConfig,
} from './policy-model';
import { columnTags, tagMatches } from './tags';
import { decisionMemo } from './decision-memo';
import type { TagTaxonomy } from './tag-taxonomy';

export interface PolicySet {
  readonly dataProducts: readonly DataProductConfig[];
  readonly globalPolicies: readonly PolicyRule[];
  readonly domainPolicies: ReadonlyArray<PolicyRule & { readonly domain: string }>;
  readonly subscriptions: readonly SubscriptionConfig[];
  readonly taxonomy: TagTaxonomy;
}

/** Higher is more restrictive; ties keep the first rule in file order. */
const RESTRICTIVENESS: Record<ColumnAction['kind'], number> = {
  allow: 0,
  round: 1,
  truncate_date: 1,
  mask: 2,
  mask_email: 2,
  regex: 2,
  hash: 3,
  constant: 4,
  null: 5,
  deny: 6,
};

export const isMoreRestrictive = (a: ColumnAction, b: ColumnAction): boolean =>
  RESTRICTIVENESS[a.kind] > RESTRICTIVENESS[b.kind];

export function createPolicySnapshot(
  set: PolicySet,
  version: string,
  now: () => Date = () => new Date(),
): PolicySnapshot {
  const products = new Map(set.dataProducts.map((p) => [p.name, p]));
  const timed = JSON.stringify([set.globalPolicies, set.domainPolicies, set.subscriptions]).includes('"hours":');
  const epochOf = (at: Date): string => (timed ? String(Math.floor(at.getTime() / 3_600_000)) : '');
  const decideAt = (principal: Principal, relation: RelationRef, at: Date): DecisionResult => {
    try {
      return decide(set, products.get(relation.dataProduct), principal, relation, at);
    } catch (error) {
      return { decision: DENY_ALL, reasons: [], errors: [`policy evaluation failed: ${(error as Error).message}`] };
    }
  };
  const ownDecide: PolicySnapshot['decide'] = (principal, relation, purpose) =>
    decideAt({ ...principal, purpose: purpose ?? principal.purpose }, relation, now());
  const decisionsFor = decisionMemo(decideAt, epochOf, now);
  return {
    version,
    epoch: () => epochOf(now()),
    decide: ownDecide,
    decisionsFor(principal, purpose) {
      // A copy of this snapshot with another decide() (a wrapper) gets nothing remembered from this one.
      return this.decide === ownDecide ? decisionsFor(principal, purpose) : undefined;
    },
    subscription(principal, dataProduct) {
      const matching = set.subscriptions.filter((s) => s.dataProduct === dataProduct);
      const hit = matching.find(
        (s) =>
          (s.users?.includes(principal.user) ?? false) ||
          (s.groups?.some((g) => principal.groups.includes(g)) ?? false) ||
          (s.when !== undefined && !s.users && !s.groups && holds(s.when, principal, now())),
      );
      return hit
        ? {
            allowed: true,
            reasons: [{ ruleId: `subscription:${dataProduct}`, scope: 'subscription', effect: 'subscribed' }],
          }
        : {
            allowed: false,
            reasons: [{ ruleId: `subscription:${dataProduct}`, scope: 'subscription', effect: 'not subscribed' }],
          };
    },
    allowedFunctions: (dataProduct) => products.get(dataProduct)?.allowedFunctions ?? [],
  };
}

const DENY_ALL: RelationDecision = { access: 'deny', columns: {}, rows: { kind: 'none' }, rowRules: [] };

function decide(
  set: PolicySet,
  product: DataProductConfig | undefined,
  principal: Principal,
  relation: RelationRef,
  at: Date,
): DecisionResult {
  const reasons: DecisionReason[] = [];
  const rules: Array<{ rule: PolicyRule; scope: 'global' | 'domain' }> = [
    ...set.globalPolicies.map((rule) => ({ rule, scope: 'global' as const })),
    ...set.domainPolicies
      .filter((r) => product && r.domain === product.domain)
      .map((rule) => ({ rule, scope: 'domain' as const })),
  ].filter(
    ({ rule }) =>
      appliesTo(rule, relation) &&
      (!rule.when || holds(rule.when, principal, at)) &&
      !(rule.unless && holds(rule.unless, principal, at)),
  );

  const columns: Record<string, { action: ColumnAction; rules: string[] }> = {};
  for (const column of relation.columns) {
    const tags = columnTags(product, relation, column);
    // A column comment may name a tag the taxonomy does not declare (a typo in COMMENT ON
    // COLUMN): no rule would match it, so the column is denied rather than shown raw.
    const undeclared = tags.find((t) => !set.taxonomy.knows(t));
    if (undeclared !== undefined) {
      const ruleId = `taxonomy:${undeclared}`;
      reasons.push({
        ruleId,
        scope: 'global',
        column: column.name,
        effect: `deny: tag "${undeclared}" is not declared in the tag taxonomy`,
      });
      columns[column.name] = { action: { kind: 'deny' }, rules: [ruleId] };
      continue;
    }
    let chosen: { action: ColumnAction; rules: string[] } | undefined;
    for (const { rule, scope } of rules) {
      for (const columnRule of rule.columns ?? []) {
        const byTag = columnRule.tags?.some((t) => tags.some((ct) => tagMatches(t, ct))) ?? false;
        const byName =
          columnRule.columns?.some(
            (c) =>
              c === `${relation.schema}.${relation.name}.${column.name}` || c === `${relation.name}.${column.name}`,
          ) ?? false;
        if (!byTag && !byName) continue;
        reasons.push({ ruleId: rule.id, scope, column: column.name, effect: columnRule.action.kind });
        if (!chosen || isMoreRestrictive(columnRule.action, chosen.action))
          chosen = { action: columnRule.action, rules: [rule.id] };
        else if (chosen.action.kind === columnRule.action.kind) chosen.rules.push(rule.id);
      }
    }
    if (chosen) columns[column.name] = chosen;
  }

  const predicates: RowPredicate[] = [];
  const rowRules: string[] = [];
  let none = false;
  for (const { rule, scope } of rules) {
    if (!rule.rows) continue;
    rowRules.push(rule.id);
    const built = rowPredicate(rule.rows, principal);
    if (built === 'none') {
      none = true;
      reasons.push({
        ruleId: rule.id,
        scope,
        effect: 'rows.deny' in rule.rows ? 'deny all rows' : 'deny all rows: an attribute the filter needs is missing',
      });
    } else {
      predicates.push(built);
      reasons.push({ ruleId: rule.id, scope, effect: 'filter rows' });
    }
  }
  const rows: RowAction = none
    ? { kind: 'none' }
    : predicates.length === 0
      ? { kind: 'all' }
      : { kind: 'filter', predicate: predicates.length === 1 ? predicates[0]! : { op: 'and', args: predicates } };
  return { decision: { access: 'allow', columns, rows, rowRules }, reasons, errors: [] };
}

function appliesTo(rule: PolicyRule, relation: RelationRef): boolean {
  if (rule.dataProducts && !rule.dataProducts.includes(relation.dataProduct)) return false;
  if (rule.tables && !rule.tables.some((t) => t === `${relation.schema}.${relation.name}` || t === relation.name))
    return false;
  return true;
}

function holds(condition: Condition, principal: Principal, at: Date): boolean {
  if ('all' in condition) return condition.all.every((c) => holds(c, principal, at));
  if ('any' in condition) return condition.any.some((c) => holds(c, principal, at));
  if ('not' in condition) return !holds(condition.not, principal, at);
  if ('user' in condition) return principal.user === condition.user;
  if ('group' in condition) return principal.groups.includes(condition.group);
  if ('purpose' in condition) return principal.purpose === condition.purpose;
  if ('hours' in condition) {
    const hour = at.getUTCHours();
    const { from, to } = condition.hours;
    return from <= to ? hour >= from && hour < to : hour >= from || hour < to;
  }
  const value = principal.attributes[condition.attribute];
  const values = value === undefined ? [] : typeof value === 'string' ? [value] : value;
  if (condition.exists !== undefined && values.length > 0 !== condition.exists) return false;
  if (condition.equals !== undefined && !(values.length === 1 && values[0] === condition.equals)) return false;
  if (condition.in !== undefined && !values.some((v) => condition.in!.includes(v))) return false;
  if (condition.contains !== undefined && !values.includes(condition.contains)) return false;
  return true;
}

/** Binds attribute references to literals; a missing attribute leaves no rows (fail closed). */
function rowPredicate(rule: RowRule, principal: Principal): RowPredicate | 'none' {
  if ('deny' in rule) return 'none';
  const bind = (v: FilterValue): Literal | readonly Literal[] | undefined => {
    if (v === null || typeof v !== 'object') return v;
    if (v.user === 'name') return principal.user;
    return principal.attributes[v.user];
  };
  if ('sql' in rule) {
    const params = rule.params.map(bind);
    if (params.some((p) => p === undefined)) return 'none';
    return { op: 'template', sql: rule.sql, params: params as Array<Literal | readonly Literal[]> };
  }
  if ('equals' in rule) {
    const value = bind(rule.equals);
    if (value === undefined) return 'none';
    return Array.isArray(value)
      ? { op: 'in', column: rule.column, values: value }
      : { op: 'eq', column: rule.column, value: value as Literal };
  }
  const list = Array.isArray(rule.in) ? rule.in : bind(rule.in as FilterValue);
  if (list === undefined) return 'none';
  return { op: 'in', column: rule.column, values: Array.isArray(list) ? list : [list as Literal] };
}
