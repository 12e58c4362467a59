/**
 * `pgveil policy lint`: what a policy author should look at. Conflicts (one tag, different actions:
 * the most restrictive wins, which may surprise), shadowed column rules (an unconditional, more
 * restrictive rule always wins over them), tags the rules name that no known column carries, and
 * column-comment tags the taxonomy does not declare (those columns are refused until fixed).
 */
import type { PolicyBundle } from './policy-loader';
import type { PolicyRule } from './policy-model';
import { isMoreRestrictive } from './decision-engine';
import { tagMatches } from './tags';

export interface LintFinding {
  /** `untagged_sensitive`: a column discovery flags that no tag covers (pgveil policy lint --config). */
  readonly kind: 'conflict' | 'shadowed' | 'unused_tag' | 'undeclared_tag' | 'untagged_sensitive';
  readonly message: string;
}

interface Target {
  readonly rule: PolicyRule;
  readonly tag: string;
  readonly action: NonNullable<PolicyRule['columns']>[number]['action'];
}

const unconditional = (rule: PolicyRule): boolean => !rule.when && !rule.unless && !rule.tables && !rule.dataProducts;

/** `knownTags`: tags carried by columns (from the files and, when read, from upstream comments). */
export function lintPolicies(bundle: PolicyBundle, knownTags: ReadonlySet<string>): LintFinding[] {
  const rules = [...bundle.set.globalPolicies, ...bundle.set.domainPolicies];
  const targets: Target[] = rules.flatMap((rule) =>
    (rule.columns ?? []).flatMap((c) => (c.tags ?? []).map((tag) => ({ rule, tag, action: c.action }))),
  );
  const findings: LintFinding[] = [];
  for (let i = 0; i < targets.length; i++) {
    for (let j = i + 1; j < targets.length; j++) {
      const a = targets[i]!;
      const b = targets[j]!;
      if (a.rule === b.rule || a.action.kind === b.action.kind) continue;
      if (!tagMatches(a.tag, b.tag) && !tagMatches(b.tag, a.tag)) continue;
      const [strong, weak] = isMoreRestrictive(a.action, b.action) ? [a, b] : [b, a];
      if (unconditional(strong.rule) && tagMatches(strong.tag, weak.tag)) {
        findings.push({
          kind: 'shadowed',
          message: `rule "${weak.rule.id}" (${weak.action.kind} on ${weak.tag}) never applies: rule "${strong.rule.id}" always ${strong.action.kind}s ${strong.tag}`,
        });
      } else {
        findings.push({
          kind: 'conflict',
          message: `rules "${a.rule.id}" (${a.action.kind} on ${a.tag}) and "${b.rule.id}" (${b.action.kind} on ${b.tag}) overlap: where both apply, ${strong.action.kind} wins`,
        });
      }
    }
  }
  for (const tag of knownTags) {
    if (!bundle.set.taxonomy.knows(tag))
      findings.push({
        kind: 'undeclared_tag',
        message: `tag "${tag}" is carried by a column but not declared in the tag taxonomy: queries naming that column are refused`,
      });
  }
  for (const tag of new Set(targets.map((t) => t.tag))) {
    if (![...knownTags].some((known) => tagMatches(tag, known)))
      findings.push({ kind: 'unused_tag', message: `tag "${tag}" is named by a rule but no known column carries it` });
  }
  return findings;
}

/** Tags declared for columns in the policy files. */
export function fileTags(bundle: PolicyBundle): Set<string> {
  const tags = new Set<string>();
  for (const product of bundle.set.dataProducts) {
    for (const table of Object.values(product.tables ?? {}))
      for (const list of Object.values(table.columns)) for (const t of list) tags.add(t);
  }
  return tags;
}
