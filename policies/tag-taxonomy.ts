/**
 * The declared tag taxonomy. Every tag a policy file names (on a column or in a rule) must be
 * declared under a top-level `tags:` of some policy file, or be an ancestor of a declared tag (a
 * rule on `pii` covers the declared `pii.email`). A typo such as `pii.emial` would otherwise tag
 * nothing a rule matches and quietly unmask the column: it is a load error instead, and a column
 * comment carrying an undeclared tag makes that column refused (see decision-engine.ts).
 */
import type { PolicyFile } from './policy-model';
import type { ValidatedYaml } from './yaml-validation';

export class TagTaxonomy {
  private readonly known = new Set<string>();

  constructor(readonly declared: ReadonlySet<string>) {
    for (const tag of declared) {
      const parts = tag.split('.');
      for (let i = 1; i <= parts.length; i++) this.known.add(parts.slice(0, i).join('.'));
    }
  }

  knows(tag: string): boolean {
    return this.known.has(tag);
  }
}

/** Every tag the files name that the taxonomy does not know, as `file:line: ...` messages. */
export function undeclaredTags(
  files: ReadonlyArray<{ readonly path: string; readonly parsed: ValidatedYaml<PolicyFile> }>,
  taxonomy: TagTaxonomy,
): string[] {
  const problems: string[] = [];
  const check = (
    path: string,
    parsed: ValidatedYaml<PolicyFile>,
    tag: string,
    keys: Array<string | number>,
    where: string,
  ): void => {
    if (!taxonomy.knows(tag))
      problems.push(
        `${path}:${parsed.lineOf(keys)}: tag "${tag}" ${where} is not declared in the tag taxonomy (a top-level "tags:" list)`,
      );
  };
  for (const { path, parsed } of files) {
    const file = parsed.value;
    (file.dataProducts ?? []).forEach((product, p) => {
      for (const [table, spec] of Object.entries(product.tables ?? {})) {
        for (const [column, tags] of Object.entries(spec.columns)) {
          tags.forEach((tag, t) =>
            check(
              path,
              parsed,
              tag,
              ['dataProducts', p, 'tables', table, 'columns', column, t],
              `on column "${table}.${column}"`,
            ),
          );
        }
      }
    });
    for (const section of ['globalPolicies', 'domainPolicies'] as const) {
      (file[section] ?? []).forEach((rule, r) => {
        (rule.columns ?? []).forEach((columnRule, c) => {
          (columnRule.tags ?? []).forEach((tag, t) =>
            check(path, parsed, tag, [section, r, 'columns', c, 'tags', t], `in rule "${rule.id}"`),
          );
        });
      });
    }
  }
  return problems;
}
