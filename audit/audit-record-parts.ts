/**
 * The parts of an audit record that outlive one statement, each serialized once in RFC 8785
 * (canonical JSON) form: the session, the principal as it decided (effective attributes with their
 * sources and the grants in force), and the decision's reasons and rules.
 */
import { canonicalize } from 'json-canonicalize';
import type { SessionInfo } from '../proxy';
import type { Principal } from '../policies';
import type { RewriteOutcome } from '../rewriter';

const sessionParts = new WeakMap<SessionInfo, { readonly dataProduct: string; readonly session: string }>();

/** The session's data product (a JSON string) and `session` object. A session's info changes rarely. */
export function sessionJson(session: SessionInfo): { readonly dataProduct: string; readonly session: string } {
  let parts = sessionParts.get(session);
  if (parts === undefined) {
    parts = {
      dataProduct: JSON.stringify(session.dataProduct),
      session: canonicalize({
        application: session.applicationName ?? null,
        client: session.clientAddress,
        id: session.sessionId,
      }),
    };
    sessionParts.set(session, parts);
  }
  return parts;
}

const principalParts = new WeakMap<Principal, { readonly principal: string; readonly user: string }>();

/**
 * The principal as the statement was decided for: `user` (a JSON string) and the `principal`
 * object. Keyed by the principal object: the identity provider hands out the same object while
 * attributes and grants stay the same.
 */
export function principalJson(principal: Principal): { readonly principal: string; readonly user: string } {
  let parts = principalParts.get(principal);
  if (parts === undefined) {
    const p = principal.provenance;
    parts = {
      user: JSON.stringify(principal.user),
      principal: canonicalize({
        groups: principal.groups,
        attributes: principal.attributes,
        purpose: principal.purpose ?? null,
        // Unknown (null) for a principal that did not come from the identity provider.
        sources: p ? { attributes: p.attributes, groups: p.groups } : null,
        grants: (p?.grants ?? []).map((g) => ({
          attribute: g.attribute,
          value: g.value,
          expiresAt: new Date(g.expiresAt).toISOString(),
        })),
      }),
    };
    principalParts.set(principal, parts);
  }
  return parts;
}

const outcomeParts = new WeakMap<
  readonly unknown[],
  { readonly policyVersion: string; readonly reasons: string; readonly relations: string; readonly rules: string }
>();

/**
 * The decision's parts: policy version, every reason of a plan (rule, scope, column, effect), the
 * substituted relations, and the ids of the rules that applied (or of the refusal's rule). Keyed
 * by the outcome's reasons array, which outlives the outcome: every statement served from one
 * literal template gets an outcome of its own (its own SQL) but shares the template's reasons, and
 * so this entry. Keying by the short-lived outcome would add a weak entry per statement, which the
 * garbage collector pays for.
 */
export function outcomeJson(outcome: RewriteOutcome): {
  readonly policyVersion: string;
  readonly reasons: string;
  readonly relations: string;
  readonly rules: string;
} {
  let parts = outcomeParts.get(outcome.reasons);
  if (parts === undefined) {
    const plan = outcome.kind === 'plan';
    parts = {
      policyVersion: JSON.stringify(outcome.policyVersion),
      reasons: plan
        ? canonicalize(
            outcome.reasons.map((r) => ({
              rule: r.ruleId,
              scope: r.scope,
              column: r.column ?? null,
              effect: r.effect,
            })),
          )
        : '[]',
      relations: plan ? canonicalize(outcome.relations) : '[]',
      rules: canonicalize(plan ? [...new Set(outcome.reasons.map((r) => r.ruleId))] : outcome.reasons),
    };
    outcomeParts.set(outcome.reasons, parts);
  }
  return parts;
}
