/**
 * A row predicate as an expression over the relation's own columns. Attribute values come in as
 * constants; a policy author's template is parsed by PostgreSQL's grammar and its `$n` parameters
 * are replaced by constants, so no value is ever spliced into SQL text.
 */
import type { Literal, RowPredicate } from '../policies';
import { arrayOf, boolExpr, columnRef, constant, isTreeObject, isKind, op, type PgNode } from './ast';
import { parseExpression } from './sql-parser';

// Array.isArray narrows a readonly array to any[]: this keeps the element type.
const isList = (value: Literal | readonly Literal[]): value is readonly Literal[] => Array.isArray(value);
const literal = (value: Literal | readonly Literal[]): PgNode =>
  isList(value) ? arrayOf(value.map((v) => constant(v))) : constant(value);

export function rowFilterExpression(predicate: RowPredicate): PgNode {
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

/**
 * The template with each `$n` replaced by its value. A generic walk (ast.ts TreeObject): every field
 * of every node is copied and searched, whatever its kind, so no parameter is left unbound.
 */
function bindParameters(node: PgNode, params: readonly (Literal | readonly Literal[])[]): PgNode {
  const visit = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(visit);
    if (!isTreeObject(value)) return value;
    if (isKind(value, 'ParamRef')) {
      // `$0` comes out of the parser without its zero: a parameter with no number is no parameter of the template.
      const number = value.ParamRef.number ?? 0;
      if (number < 1 || number > params.length)
        throw new Error(`row filter template parameter $${number} is not bound`);
      const index = number - 1;
      return literal(params[index]!);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, visit(v)]));
  };
  // The walk copies every field and replaces ParamRef nodes by constants: what comes out is a node as
  // what went in was.
  return visit(node) as PgNode;
}
