/**
 * decide() remembered, for PolicySnapshot.decisionsFor: one snapshot is one immutable policy
 * version, so its answer for a relation depends only on what decide() reads of the principal (user,
 * groups, attribute values, purpose), on the relation's description (data product, schema, name,
 * columns with their types and comments) and, for rules with hours, on the UTC hour. A remembered
 * answer is keyed by all of these:
 *
 * - the principal's values and the epoch (the hour when the policies have hour rules, else nothing)
 *   key a decider, which decides for a frozen copy of those values at one moment of that epoch;
 * - the decider remembers its answer for a relation only when the relation's description is frozen
 *   (the object, its columns list and each column), keyed by that object: the same object cannot
 *   describe another relation later. Any other description is decided afresh every time.
 *
 * A remembered answer's own containers are frozen (the result, the decision, its columns and rows,
 * the reasons): every statement that uses it reads the same answer. Actions and filter values are
 * the policy version's own objects, as in every answer decide() gives.
 */
import type { DecisionResult, RelationDecider, RelationRef } from './decision';
import type { AttributeValue, Principal } from './principal';

/** Principals whose deciders a snapshot keeps at once; the oldest goes first. */
const DECIDERS_MAX = 1024;

export type DecideAt = (principal: Principal, relation: RelationRef, at: Date) => DecisionResult;

/** decisionsFor() of one snapshot. */
export function decisionMemo(
  decideAt: DecideAt,
  epochOf: (at: Date) => string,
  now: () => Date,
): (principal: Principal, purpose: string | undefined) => RelationDecider {
  const deciders = new Map<string, RelationDecider>();
  return (principal, purpose) => {
    const at = now();
    const values = principalValues(principal, purpose ?? principal.purpose);
    // Values decide() could read otherwise than their JSON says: decided afresh, never remembered.
    if (values === undefined)
      return (relation) => decideAt({ ...principal, purpose: purpose ?? principal.purpose }, relation, at);
    const key = `${epochOf(at)}\0${values}`;
    const found = deciders.get(key);
    if (found) return found;
    const decider = remembering(decideAt, frozenCopy(principal, purpose ?? principal.purpose), at);
    deciders.set(key, decider);
    if (deciders.size > DECIDERS_MAX) deciders.delete(deciders.keys().next().value!);
    return decider;
  };
}

function remembering(decideAt: DecideAt, principal: Principal, at: Date): RelationDecider {
  const answers = new WeakMap<RelationRef, DecisionResult>();
  return (relation) => {
    // Only frozen descriptions are ever kept, and frozen is for good: a hit needs no second look.
    const found = answers.get(relation);
    if (found !== undefined) return found;
    if (!isFrozenRef(relation)) return decideAt(principal, relation, at);
    const answer = frozenAnswer(decideAt(principal, relation, at));
    answers.set(relation, answer);
    return answer;
  };
}

/**
 * What decide() reads of the principal, as JSON (attributes by name), or undefined when a value is
 * not a string or a list of strings (the types say it cannot be; then nothing is remembered).
 */
function principalValues(principal: Principal, purpose: string | undefined): string | undefined {
  if (typeof principal.user !== 'string' || !isStrings(principal.groups)) return undefined;
  if (purpose !== undefined && typeof purpose !== 'string') return undefined;
  const attributes: Array<[string, AttributeValue]> = [];
  for (const name of Object.keys(principal.attributes)) {
    const value: unknown = principal.attributes[name];
    if (typeof value !== 'string' && !isStrings(value)) return undefined;
    attributes.push([name, value]);
  }
  attributes.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([principal.user, principal.groups, attributes, purpose ?? null]);
}

const isStrings = (value: unknown): value is readonly string[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'string');

/** The principal's decision inputs, copied and frozen: later changes to the object reach no answer. */
function frozenCopy(principal: Principal, purpose: string | undefined): Principal {
  const attributes: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(principal.attributes))
    attributes[name] = typeof value === 'string' ? value : Object.freeze([...value]);
  return Object.freeze({
    user: principal.user,
    groups: Object.freeze([...principal.groups]),
    attributes: Object.freeze(attributes),
    ...(purpose !== undefined ? { purpose } : {}),
  });
}

function isFrozenRef(relation: RelationRef): boolean {
  if (!Object.isFrozen(relation) || !Object.isFrozen(relation.columns)) return false;
  for (const column of relation.columns) if (!Object.isFrozen(column)) return false;
  return true;
}

function frozenAnswer(result: DecisionResult): DecisionResult {
  const { decision } = result;
  for (const name of Object.keys(decision.columns)) {
    const column = decision.columns[name]!;
    Object.freeze(column.rules);
    Object.freeze(column);
  }
  Object.freeze(decision.columns);
  Object.freeze(decision.rows);
  Object.freeze(decision.rowRules);
  Object.freeze(decision);
  for (const reason of result.reasons) Object.freeze(reason);
  Object.freeze(result.reasons);
  Object.freeze(result.errors);
  return Object.freeze(result);
}
