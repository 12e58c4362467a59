/**
 * Statements that differ only in their literals (pgbench's simple mode, dashboards, drivers that
 * inline parameters) share one rewrite. The key is PostgreSQL's normalized text of the statement
 * (libpg-query's normalize: constants found by PostgreSQL's parser and scanner, replaced by $n);
 * the rewrite of that normalized statement is a template whose parameters are replaced by the
 * statement's own literal texts, byte for byte.
 *
 * Why this is the same rewrite: in a SELECT the rewriter treats a constant and a parameter alike
 * (it never reads a literal's value there; only SET statements do, and they never take this path),
 * so rewriting `$n` and putting the literal back where `$n` stood yields what rewriting the
 * literal would. A template is only made after that has been checked on its first statement, and
 * the literals are recovered only when the text splits around the normalized text in exactly one
 * way; otherwise the statement is rewritten in full.
 */
import { normalizeSync, scanSync } from 'libpg-query';
import { deparseStatement, parseTree } from './sql-parser';
import { kindOf } from './ast';
import type { RewriteOutcome, RewritePlan } from './rewrite-types';

export interface LiteralTemplate {
  /** The fixed text of the normalized statement around its parameters, in order. */
  readonly segments: readonly string[];
  /** The number of each parameter of the normalized statement, in the order they appear. */
  readonly slots: readonly number[];
  /** The rewritten normalized statement: text, and parameter numbers where literals go back. */
  readonly parts: ReadonlyArray<string | number>;
  readonly plan: RewritePlan;
}

/** PostgreSQL's normalized text of a statement, or undefined when it has none (unparseable). */
export function normalizedText(sql: string): string | undefined {
  try {
    return normalizeSync(sql);
  } catch {
    return undefined;
  }
}

interface Param {
  readonly start: number;
  readonly end: number;
  readonly number: number;
}

/** Parameter tokens ($n) as PostgreSQL's scanner finds them; offsets in UTF-8 bytes. */
function params(text: Buffer): Param[] {
  const scanned = scanSync(text.toString('utf8')) as {
    tokens?: Array<{ start: number; end: number; tokenName: string }>;
  };
  return (scanned.tokens ?? [])
    .filter((t) => t.tokenName === 'PARAM')
    .map((t) => ({ start: t.start, end: t.end, number: Number(text.toString('utf8', t.start + 1, t.end)) }));
}

/** Splits text at its parameters: the text between them, and the parameters' numbers. */
export function splitAtParams(sql: string): { segments: string[]; numbers: number[] } {
  const text = Buffer.from(sql, 'utf8');
  const segments: string[] = [];
  const numbers: number[] = [];
  let at = 0;
  for (const p of params(text)) {
    segments.push(text.toString('utf8', at, p.start));
    numbers.push(p.number);
    at = p.end;
  }
  segments.push(text.toString('utf8', at));
  return { segments, numbers };
}

/**
 * Makes a template from a statement's normalized text, or undefined when the statement is not
 * one SELECT, its normalized text does not parse (a typed literal such as `date '...'`), or its
 * rewrite is not a plain plan. `rewrite` is the rewriter bound to the statement's context.
 */
export function makeTemplate(
  normalized: string,
  rewrite: (sql: string) => RewriteOutcome,
): LiteralTemplate | undefined {
  let statements;
  try {
    statements = parseTree(normalized);
  } catch {
    return undefined;
  }
  if (statements.length !== 1 || kindOf(statements[0]!.stmt) !== 'SelectStmt') return undefined;
  const plan = rewrite(normalized);
  if (plan.kind !== 'plan' || plan.effects.length > 0 || plan.statementCount !== 1) return undefined;
  const source = splitAtParams(normalized);
  const rewritten = splitAtParams(plan.sql);
  // The rewrite adds no parameters of its own; if it ever did, the template would not be sound.
  if (!rewritten.numbers.every((n) => source.numbers.includes(n))) return undefined;
  const parts: Array<string | number> = [rewritten.segments[0]!];
  rewritten.numbers.forEach((n, i) => parts.push(n, rewritten.segments[i + 1]!));
  return { segments: source.segments, slots: source.numbers, parts, plan };
}

/**
 * The literal texts of `sql`, one per template parameter, when `sql` splits around the template's
 * segments in exactly one way (then it is the split PostgreSQL's normalize made); else undefined.
 */
export function literalsOf(sql: string, segments: readonly string[]): string[] | undefined {
  const slots = segments.length - 1;
  const first = segments[0]!;
  const last = segments[slots]!;
  if (!sql.startsWith(first) || !sql.endsWith(last)) return undefined;
  if (slots === 0) return sql === first ? [] : undefined;
  const lastStart = sql.length - last.length;
  let found: string[] | undefined;
  let solutions = 0;
  let budget = 64;
  const literals: string[] = [];
  const search = (slot: number, from: number): void => {
    if (--budget < 0 || solutions > 1) return;
    if (slot === slots - 1) {
      if (lastStart > from) {
        solutions++;
        found = [...literals, sql.slice(from, lastStart)];
      }
      return;
    }
    const next = segments[slot + 1]!;
    for (
      let at = sql.indexOf(next, from + 1);
      at >= 0 && at + next.length <= lastStart;
      at = sql.indexOf(next, at + 1)
    ) {
      literals.push(sql.slice(from, at));
      search(slot + 1, at + next.length);
      literals.pop();
      if (budget < 0 || solutions > 1) return;
    }
  };
  search(0, first.length);
  return solutions === 1 && budget >= 0 ? found : undefined;
}

/** The rewritten SQL with the statement's literals where the template's parameters stand. */
export function instantiate(template: LiteralTemplate, literals: readonly string[]): string {
  const byNumber = new Map<number, string>();
  template.slots.forEach((n, i) => byNumber.set(n, literals[i]!));
  let out = '';
  for (const part of template.parts) {
    // Spaces around a literal keep it one token whatever stands next to it.
    out += typeof part === 'string' ? part : ` ${byNumber.get(part)!} `;
  }
  return out;
}

/** Same statement for PostgreSQL: equal once both are parsed and printed the same way. */
export function sameStatement(a: string, b: string): boolean {
  try {
    const [x] = parseTree(a);
    const [y] = parseTree(b);
    return x !== undefined && y !== undefined && deparseStatement(x.stmt) === deparseStatement(y.stmt);
  } catch {
    return false;
  }
}
