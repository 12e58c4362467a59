/**
 * A row predicate as an expression over the relation's own columns. Attribute values come in as
 * constants; a policy author's template is parsed by PostgreSQL's grammar and its `$n` parameters
 * are replaced by constants, so no value is ever spliced into SQL text.
 */
import type { Literal, RowPredicate } from '../policies';
import { arrayOf, boolExpr, columnRef, constant, op, type Node } from './ast';
import { parseExpression } from './sql-parser';

const literal = (value: Literal | readonly Literal[]): Node =>
  Array.isArray(value) ? arrayOf(value.map((v) => constant(v))) : constant(value as Literal);

export function rowFilterExpression(predicate: RowPredicate): Node {
  switch (predicate.op) {
    case 'eq':
      return op('=', columnRef(predicate.column), constant(predicate.value));
    case 'in':
      if (predicate.values.length === 0) return constant(false);
      return {
        A_Expr: {
          kind: 'AEXPR_OP_ANY',
          name: [{ String: { sval: 'pg_catalog' } }, { String: { sval: '=' } }],
          lexpr: columnRef(predicate.column),
          rexpr: arrayOf(predicate.values.map((v) => constant(v))),
        },
      };
    case 'and':
    case 'or':
      if (predicate.args.length === 0) return constant(predicate.op === 'and');
      return boolExpr(predicate.op === 'and' ? 'AND_EXPR' : 'OR_EXPR', predicate.args.map(rowFilterExpression));
    case 'not':
      return boolExpr('NOT_EXPR', [rowFilterExpression(predicate.arg)]);
    case 'template':
      return bindParameters(parseExpression(predicate.sql), predicate.params);
  }
}

function bindParameters(node: Node, params: readonly (Literal | readonly Literal[])[]): Node {
  const visit = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(visit);
    if (value === null || typeof value !== 'object') return value;
    const n = value as Node;
    if (n.ParamRef) {
      const index = (n.ParamRef.number as number) - 1;
      if (index < 0 || index >= params.length)
        throw new Error(`row filter template parameter $${index + 1} is not bound`);
      return literal(params[index]!);
    }
    return Object.fromEntries(Object.entries(n).map(([k, v]) => [k, visit(v)]));
  };
  return visit(node) as Node;
}
