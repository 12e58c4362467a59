import { deparseStatement, parseTree } from '../../rewriter/sql-parser';

/**
 * The statements PostgreSQL reads from `sql`, printed: a query goes upstream in the analyst's own
 * spelling with pgveil's changes spliced in (rewriter/splice.ts), so exact expectations are about
 * the statement it reads as, not about white space, quoting or `::` against CAST.
 */
export const printedAsRead = (sql: string): string =>
  parseTree(sql)
    .map((s) => deparseStatement(s.stmt))
    .join(';\n');
