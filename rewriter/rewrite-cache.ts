/**
 * Rewrites are cached by everything they depend on: the SQL text, the policy version, the catalog
 * version, the principal (user, groups, attributes, purpose) and the search_path. Two bounded LRUs:
 * one by exact text, one by PostgreSQL's normalized text (statements that differ only in their
 * literals share a template, see literal-template.ts).
 */
import type { RewriteContext, RewriteOutcome } from './rewrite-types';
import type { Principal } from '../policies';
import {
  instantiate,
  literalsOf,
  makeTemplate,
  normalizedText,
  sameStatement,
  type LiteralTemplate,
} from './literal-template';

const principalKeys = new WeakMap<Principal, string>();

/**
 * Everything a rewrite depends on besides the SQL text: equal stamps mean an equal decision, so a
 * prepared statement or cursor whose stamp is still current needs no second look.
 */
export function decisionStamp(context: RewriteContext): string {
  return `${context.policies.version}\0${context.policies.epoch?.() ?? ''}\0${context.catalog.version}\0${context.dataProduct}\0${principalKey(context.principal)}\0${context.searchPath.join(',')}\0`;
}

function principalKey(p: Principal): string {
  let key = principalKeys.get(p);
  if (key === undefined) {
    key = JSON.stringify([
      p.user,
      p.groups,
      Object.entries(p.attributes).sort(([a], [b]) => (a < b ? -1 : 1)),
      p.purpose ?? null,
    ]);
    principalKeys.set(p, key);
  }
  return key;
}

/** A bounded map that forgets the least recently used entry. */
class Lru<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const found = this.entries.get(key);
    if (found !== undefined) {
      // Map keeps insertion order, so the first key is the least recently used.
      this.entries.delete(key);
      this.entries.set(key, found);
    }
    return found;
  }

  set(key: string, value: V): void {
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }
}

/** Marks a normalized text whose statements must each be rewritten in full. */
const NO_TEMPLATE = 'none';

interface TemplateEntry {
  readonly template: LiteralTemplate;
  /** The audit's normalized rewritten text: the same for every statement of the template. */
  readonly rewrittenNormalized: string;
}

export class RewriteCache {
  private readonly exact: Lru<RewriteOutcome>;
  private readonly templates: Lru<TemplateEntry | typeof NO_TEMPLATE>;
  hits = 0;
  literalHits = 0;
  misses = 0;

  constructor(capacity = 10_000) {
    this.exact = new Lru(capacity);
    this.templates = new Lru(capacity);
  }

  /** `rewrite` rewrites any text in this context (the statement, or its normalized text). */
  get(sql: string, context: RewriteContext, rewrite: (sql: string) => RewriteOutcome): RewriteOutcome {
    const scope = decisionStamp(context);
    const key = scope + sql;
    const found = this.exact.get(key);
    if (found) {
      this.hits++;
      return found;
    }
    const normalized = normalizedText(sql);
    if (normalized !== undefined && normalized !== sql) {
      const entry = this.templates.get(scope + normalized);
      if (entry !== undefined && entry !== NO_TEMPLATE) {
        const literals = literalsOf(sql, entry.template.segments);
        if (literals) {
          this.literalHits++;
          const audit = { statement: normalized, rewritten: entry.rewrittenNormalized };
          return { ...entry.template.plan, sql: instantiate(entry.template, literals), audit };
        }
      }
      if (entry === undefined) return this.firstOfShape(sql, normalized, scope, rewrite);
    }
    this.misses++;
    const outcome = rewrite(sql);
    this.exact.set(key, outcome);
    return outcome;
  }

  /**
   * The first statement of a normalized text: rewritten in full, and the template kept only if
   * putting this statement's literals into it gives the same statement as that full rewrite.
   */
  private firstOfShape(
    sql: string,
    normalized: string,
    scope: string,
    rewrite: (sql: string) => RewriteOutcome,
  ): RewriteOutcome {
    this.misses++;
    const outcome = rewrite(sql);
    this.exact.set(scope + sql, outcome);
    const template = outcome.kind === 'plan' ? makeTemplate(normalized, rewrite) : undefined;
    const literals = template && literalsOf(sql, template.segments);
    const sound =
      template !== undefined &&
      literals !== undefined &&
      outcome.kind === 'plan' &&
      JSON.stringify([outcome.relations, outcome.reasons]) ===
        JSON.stringify([template.plan.relations, template.plan.reasons]) &&
      sameStatement(instantiate(template, literals), outcome.sql);
    const rewrittenNormalized = sound && outcome.kind === 'plan' ? normalizedText(outcome.sql) : undefined;
    this.templates.set(
      scope + normalized,
      template && rewrittenNormalized !== undefined ? { template, rewrittenNormalized } : NO_TEMPLATE,
    );
    return outcome;
  }
}
