/**
 * libpg-query's AST. Nodes are `{ Kind: { ...fields } }`, typed by `@pgsql/types` (the types
 * libpg-query itself declares): the builders here make the node kinds the rewrite introduces, as
 * `PgNode`s, so a misspelt field or enum value is a compile error.
 *
 * `Node` is the open shape the walkers use (relation-substitution.ts visits every field of every
 * node generically, whatever its kind, so that no field is ever skipped): every typed node is one.
 */
import type { Literal } from '../policies';
import type { Node as PgNode, A_Const } from '@pgsql/types';

export type { PgNode };

// The walkers read any field of any node kind: this is the one place where the shape is left open.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Node = Record<string, any>;

export const kindOf = (node: Node): string => Object.keys(node)[0] ?? '';
const str = (sval: string): PgNode => ({ String: { sval } });
export const names = (node: Node[] | undefined): string[] => (node ?? []).map((n) => n.String?.sval as string);

export const columnRef = (...fields: string[]): PgNode => ({ ColumnRef: { fields: fields.map(str) } });

export function constant(value: Literal): PgNode {
  return { A_Const: constantBody(value) };
}

/** libpg-query leaves out a zero or false value (`{ ival: {} }`): the constant is built the same way. */
function constantBody(value: Literal): A_Const {
  if (value === null) return { isnull: true };
  if (typeof value === 'boolean') return { boolval: value ? { boolval: true } : {} };
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) < 2 ** 31) return { ival: value === 0 ? {} : { ival: value } };
    return { fval: { fval: String(value) } };
  }
  return { sval: { sval: value } };
}

export const funcCall = (schema: string, name: string, args: Node[]): PgNode => ({
  FuncCall: { funcname: [str(schema), str(name)], args: args as PgNode[], funcformat: 'COERCE_EXPLICIT_CALL' },
});

export const op = (name: string, lexpr: Node, rexpr: Node): PgNode => ({
  A_Expr: { kind: 'AEXPR_OP', name: [str('pg_catalog'), str(name)], lexpr: lexpr as PgNode, rexpr: rexpr as PgNode },
});

export const typeCast = (arg: Node, typeName: Node): PgNode => ({ TypeCast: { arg: arg as PgNode, typeName } });

export const caseWhen = (branches: Array<[Node, Node]>, otherwise: Node): PgNode => ({
  CaseExpr: {
    args: branches.map(([expr, result]) => ({ CaseWhen: { expr: expr as PgNode, result: result as PgNode } })),
    defresult: otherwise as PgNode,
  },
});

export const isNull = (arg: Node): PgNode => ({ NullTest: { arg: arg as PgNode, nulltesttype: 'IS_NULL' } });
export const boolExpr = (boolop: 'AND_EXPR' | 'OR_EXPR' | 'NOT_EXPR', args: Node[]): PgNode => ({
  BoolExpr: { boolop, args: args as PgNode[] },
});
export const arrayOf = (elements: Node[]): PgNode => ({ A_ArrayExpr: { elements: elements as PgNode[] } });
