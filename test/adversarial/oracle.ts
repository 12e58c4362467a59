/**
 * The reference for the leak suite's correctness oracle: the analyst's policy written as secure
 * views, and how two answers are compared.
 */
import type { ResultItem } from './wire';

/**
 * The analyst's policy (cli/demo/demo-policy.ts) as secure views, expressions as rewriter/mask-
 * expressions.ts builds them.
 */
export const REFERENCE_VIEWS = `
CREATE SCHEMA reference;
CREATE VIEW reference.customers WITH (security_barrier) AS
  SELECT id, name,
         CASE WHEN email IS NULL THEN NULL
              WHEN strpos(email, '@') <= 1 THEN repeat('*', length(email))
              ELSE concat(left(email, 1), repeat('*', strpos(email, '@') - 2), substr(email, strpos(email, '@'))) END AS email,
         CASE WHEN ssn IS NULL THEN NULL ELSE pgveil.keyed_hash(ssn) END AS ssn,
         CASE WHEN phone IS NULL THEN NULL
              WHEN length(phone) <= 4 THEN repeat('*', length(phone))
              ELSE concat(repeat('*', length(phone) - 4), right(phone, 4)) END AS phone,
         region,
         date_trunc('year', birth_date)::date AS birth_date,
         created_at
  FROM public.customers
  WHERE region = 'EU';
CREATE VIEW reference.orders WITH (security_barrier) AS
  SELECT id, customer_id, ordered_at, amount,
         CASE WHEN card_number IS NULL THEN NULL
              WHEN length(card_number) <= 4 THEN repeat('*', length(card_number))
              ELSE concat(repeat('*', length(card_number) - 4), right(card_number, 4)) END AS card_number,
         status
  FROM public.orders;
`;

/** A refusal is always an acceptable answer (the leak suite checks the expected ones). */
export const REFUSAL = '42501';

/** True when the statement (any of them) sorts its final answer: an ORDER BY outside any parentheses. */
export function hasTopLevelOrderBy(sql: string): boolean {
  let s = sql.replace(/'(?:[^']|'')*'/g, "''").replace(/\$(\w*)\$[\s\S]*?\$\1\$/g, "''");
  for (let prev = ''; prev !== s;) {
    prev = s;
    s = s.replace(/\([^()]*\)/g, ' ');
  }
  return /\border\s+by\b/i.test(s);
}

const rowKey = (row: ReadonlyArray<string | null>): string => JSON.stringify(row);

/** undefined when both answers are the same, else a short description of the first difference. */
export function answerDifference(
  actual: readonly ResultItem[],
  expected: readonly ResultItem[],
  ordered: boolean,
): string | undefined {
  if (actual.length !== expected.length)
    return `${actual.length} results, reference has ${expected.length}: ${JSON.stringify(actual).slice(0, 300)} vs ${JSON.stringify(expected).slice(0, 300)}`;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (a.kind !== e.kind)
      return `result ${i}: ${a.kind} (${JSON.stringify(a).slice(0, 200)}), reference ${e.kind} (${JSON.stringify(e).slice(0, 200)})`;
    if (a.kind === 'error' && e.kind === 'error') {
      if (a.code !== e.code) return `result ${i}: error ${a.code} ${a.message}, reference ${e.code} ${e.message}`;
    } else if (a.kind === 'rows' && e.kind === 'rows') {
      if (rowKey(a.columns) !== rowKey(e.columns))
        return `result ${i}: columns ${rowKey(a.columns)}, reference ${rowKey(e.columns)}`;
      if (a.tag !== e.tag) return `result ${i}: tag ${a.tag}, reference ${e.tag}`;
      const ak = a.rows.map(rowKey);
      const ek = e.rows.map(rowKey);
      if (!ordered) {
        ak.sort();
        ek.sort();
      }
      const at = ak.findIndex((k, j) => k !== ek[j]);
      if (at >= 0) return `result ${i}: row ${at} ${ak[at]}, reference ${ek[at]}`;
    } else if (a.kind === 'copy' && e.kind === 'copy') {
      const al = ordered ? [...a.lines] : [...a.lines].sort();
      const el = ordered ? [...e.lines] : [...e.lines].sort();
      const at = al.findIndex((l, j) => l !== el[j]);
      if (at >= 0 || al.length !== el.length) return `result ${i}: copy line ${at} ${al[at]}, reference ${el[at]}`;
    } else if (a.kind === 'command' && e.kind === 'command') {
      if (a.tag !== e.tag) return `result ${i}: tag ${a.tag}, reference ${e.tag}`;
    }
  }
  return undefined;
}
