/**
 * libpg-query's JSON AST, handled as plain objects. Nodes are `{ Kind: { ...fields } }`; the helpers
 * here build the few node kinds the rewrite introduces and read the ones it inspects.
 */
import type { Literal } from '../policies/decision';

// The AST is generated JSON: this is the one place where its shape is left open.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Node = Record<string, any>;

export const kindOf = (node: Node): string => Object.keys(node)[0] ?? '';
export const str = (sval: string): Node => ({ String: { sval } });
export const names = (node: Node[] | undefined): string[] => (node ?? []).map((n) => n.String?.sval as string);

export const columnRef = (...fields: string[]): Node => ({ ColumnRef: { fields: fields.map(str) } });

export function constant(value: Literal): Node {
  if (value === null) return { A_Const: { isnull: true } };
  if (typeof value === 'boolean') return { A_Const: { boolval: { boolval: value } } };
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) < 2 ** 31) return { A_Const: { ival: { ival: value } } };
    return { A_Const: { fval: { fval: String(value) } } };
  }
  return { A_Const: { sval: { sval: value } } };
}

export const funcCall = (schema: string, name: string, args: Node[]): Node => ({
  FuncCall: { funcname: [str(schema), str(name)], args, funcformat: 'COERCE_EXPLICIT_CALL' },
});

export const op = (name: string, lexpr: Node, rexpr: Node): Node => ({
  A_Expr: { kind: 'AEXPR_OP', name: [str('pg_catalog'), str(name)], lexpr, rexpr },
});

export const typeCast = (arg: Node, typeName: Node): Node => ({ TypeCast: { arg, typeName } });

export const caseWhen = (branches: Array<[Node, Node]>, otherwise: Node): Node => ({
  CaseExpr: { args: branches.map(([expr, result]) => ({ CaseWhen: { expr, result } })), defresult: otherwise },
});

export const isNull = (arg: Node): Node => ({ NullTest: { arg, nulltesttype: 'IS_NULL' } });
export const boolExpr = (boolop: 'AND_EXPR' | 'OR_EXPR' | 'NOT_EXPR', args: Node[]): Node => ({ BoolExpr: { boolop, args } });
export const arrayOf = (elements: Node[]): Node => ({ A_ArrayExpr: { elements } });

