/**
 * The SQL an external port's aggregate becomes, before the port's own policy rewrites it (the
 * normal rewrite then substitutes the published relation by its masked, row-filtered derived
 * table, so differential privacy sits on top of the policy, never instead of it):
 *
 *   rows:    the published relation, the analyst's WHERE, rows outside the dimensions' domains
 *            dropped; one column per privacy unit, dimension and aggregated column.
 *   bounded: each privacy unit keeps at most maxRowsPerUnit rows, chosen at random.
 *   groups:  exact aggregates per group; sums over values clamped to the measure's bounds and
 *            rounded to its decimals, so they are integers. MATERIALIZED: computed once, never
 *            re-run per domain row by a nested loop.
 *   answer:  one row per combination of the domains' values, present in the data or not (the set
 *            of groups leaks nothing), every value as text: pgveil replaces the aggregates with
 *            noisy ones (noisy-answer.ts) and, since text has the same bytes in text and binary
 *            result format, no client format can make it misread a value.
 */
import type { PgNode } from '../rewriter';
import { deparseStatement } from '../rewriter';
import { quoteIdent } from '../rewriter';
import type { AggregateQuery } from './aggregate-query';
import type { DimensionValue } from './port-model';

export function aggregateSql(query: AggregateQuery): string {
  const q = quoteIdent;
  const source = `${q(query.alias)}`;
  const dims = query.groupBy;
  const rowColumns = [
    `${source}.${q(query.published.privacyUnit)} AS pgveil_unit`,
    ...dims.map((d, i) => `${source}.${q(d)} AS pgveil_d${i}`),
  ];
  query.outputs.forEach((o, i) => {
    if (o.kind !== 'dimension' && o.column !== undefined) rowColumns.push(`${source}.${q(o.column)} AS pgveil_x${i}`);
  });
  const filters: string[] = [];
  if (query.where) filters.push(`(${whereText(query.where)})`);
  dims.forEach((d) => filters.push(`${source}.${q(d)}::text IN (${domainOf(query, d).map(literal).join(', ')})`));
  const rows = `SELECT ${rowColumns.join(', ')} FROM ${q(query.schema)}.${q(query.table)} AS ${source}${filters.length ? ` WHERE ${filters.join(' AND ')}` : ''}`;
  const bounded = `SELECT *, row_number() OVER (PARTITION BY pgveil_unit ORDER BY random()) AS pgveil_rank FROM pgveil_dp_rows`;
  const aggregates = query.outputs.flatMap((o, i) => {
    if (o.kind === 'dimension') return [];
    if (o.kind === 'count') return [`count(${o.column === undefined ? '*' : `pgveil_x${i}`})::text AS pgveil_a${i}`];
    const bounds = query.published.measures![o.column]!;
    const units = `round(LEAST(GREATEST(pgveil_x${i}, ${numberText(bounds.lower)}), ${numberText(bounds.upper)})::numeric * ${10 ** (bounds.decimals ?? 0)})`;
    const sum = `coalesce(sum(${units}), 0)::text`;
    return [o.kind === 'sum' ? `${sum} AS pgveil_a${i}` : `${sum} || '/' || count(pgveil_x${i})::text AS pgveil_a${i}`];
  });
  const groupColumns = dims.map((_, i) => `pgveil_d${i}::text AS pgveil_d${i}`);
  const groups = `SELECT ${[...groupColumns, ...aggregates].join(', ')} FROM pgveil_dp_bounded WHERE pgveil_rank <= ${query.published.maxRowsPerUnit}${dims.length ? ` GROUP BY ${dims.map((_, i) => `pgveil_d${i}`).join(', ')}` : ''}`;
  // Each aggregate's text starts with its group's index among the domains' combinations, which
  // names the group to the noise step and the answer cache whatever columns were selected.
  const index = dims.length === 0 ? `'0'` : `pgveil_domain.pgveil_group::text`;
  const answerColumns = query.outputs.map((o, i) => {
    if (o.kind === 'dimension') return `pgveil_domain.d${dims.indexOf(o.column)} AS ${q(o.name)}`;
    const empty = o.kind === 'avg' ? `'0/0'` : `'0'`;
    return `${index} || ':' || coalesce(g.pgveil_a${i}, ${empty}) AS ${q(o.name)}`;
  });
  let answer: string;
  if (dims.length === 0) {
    // An aggregate without GROUP BY always yields exactly one row.
    answer = `SELECT ${answerColumns.join(', ')} FROM pgveil_dp_groups AS g`;
  } else {
    const combinations = product(dims.map((d) => domainOf(query, d)));
    const on = dims.map((_, i) => `g.pgveil_d${i} = pgveil_domain.d${i}`).join(' AND ');
    // Ordered by the analyst's ORDER BY, then by the domains' declared order: every answer to the
    // same statement lists its groups in the same order, which the answer cache relies on.
    const order = [
      ...query.orderBy.map((o) => `pgveil_domain.d${dims.indexOf(o.column)}${o.descending ? ' DESC' : ''}`),
      ...dims.map((_, i) => `pgveil_domain.pgveil_order${i}`),
    ];
    const domainColumns = [...dims.map((_, i) => `d${i}`), ...dims.map((_, i) => `pgveil_order${i}`), 'pgveil_group'];
    const indexed = combinations
      .map(
        (c, group) =>
          `(${[...c.map(literal), ...c.map((v, i) => String(domainOf(query, dims[i]!).indexOf(v))), String(group)].join(', ')})`,
      )
      .join(', ');
    answer = `SELECT ${answerColumns.join(', ')} FROM (VALUES ${indexed}) AS pgveil_domain(${domainColumns.join(', ')}) LEFT JOIN pgveil_dp_groups AS g ON ${on} ORDER BY ${order.join(', ')}`;
  }
  return `WITH pgveil_dp_rows AS (${rows}), pgveil_dp_bounded AS (${bounded}), pgveil_dp_groups AS MATERIALIZED (${groups}) ${answer}`;
}

/** Number of rows every answer has: the product of the grouped dimensions' domain sizes. */
export function groupCount(query: AggregateQuery): number {
  return query.groupBy.reduce((n, d) => n * domainOf(query, d).length, 1);
}

function domainOf(query: AggregateQuery, dimension: string): string[] {
  return (query.published.dimensions![dimension] as readonly DimensionValue[]).map(String);
}

function product(domains: readonly string[][]): string[][] {
  return domains.reduce<string[][]>((acc, domain) => acc.flatMap((prefix) => domain.map((v) => [...prefix, v])), [[]]);
}

/** A string literal: E'' form, so it means the same whatever standard_conforming_strings is. */
function literal(value: string): string {
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function numberText(value: number): string {
  // Bounds are checked at load to stay below 2^53; toString never uses exponent notation there
  // except for tiny fractions, which toFixed(6) covers.
  const text = Number.isInteger(value) ? value.toFixed(0) : value.toFixed(6);
  return value < 0 ? `(${text})` : text;
}

/** The analyst's WHERE (already checked: comparisons of columns with constants) as SQL text. */
function whereText(where: PgNode): string {
  const printed = deparseStatement({
    SelectStmt: {
      targetList: [{ ResTarget: { val: { A_Const: { ival: { ival: 1 } } } } }],
      whereClause: where,
      op: 'SETOP_NONE',
    },
  });
  const prefix = /^SELECT 1 WHERE /i;
  if (!prefix.test(printed)) throw new Error('unexpected print of a WHERE clause');
  return printed.replace(prefix, '');
}
