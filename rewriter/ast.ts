/**
 * libpg-query's AST. Nodes are `{ Kind: { ...fields } }`, typed by `@pgsql/types` (the types
 * libpg-query itself declares): `PgNode` is the union of every node kind, `NodeOf<'SelectStmt'>`
 * one node and `BodyOf<'SelectStmt'>` (the same as `SelectStmt`) its fields. A node whose kind the
 * code must know is narrowed with `isKind` or `bodyOf`, never cast; the builders here make the node
 * kinds the rewrite introduces, so a misspelt field or enum value is a compile error.
 *
 * One shape stays open, on purpose: `TreeObject`. A generic walk (relation-substitution.ts's
 * substitution walk, matview-sources.ts columnRefs, row-filter.ts bindParameters, lock-statement.ts
 * resolvedSchema, position-map.ts pairLocations) must visit every field of every node kind, whatever
 * its kind, so that a kind the code does not know, or one a later parser adds, still has its fields
 * walked and nothing can hide in it. Such a walk reads values as `unknown` and narrows them with
 * `isTreeObject` and `Array.isArray`; where it must read a kind's own fields, it names the kind.
 */
import type { Literal } from '../policies';
import type { A_Const, Node as PgNode, TypeName } from '@pgsql/types';

export type { PgNode };

type KeyOfEach<T> = T extends unknown ? keyof T : never;
/** Every node kind: the one key of a node. */
export type NodeKind = KeyOfEach<PgNode>;
/** The node of one kind, `{ Kind: body }`. */
export type NodeOf<K extends NodeKind> = Extract<PgNode, Record<K, unknown>>;
/** The fields of a node of one kind (`BodyOf<'RangeVar'>` is `RangeVar`). */
export type BodyOf<K extends NodeKind> = NodeOf<K>[K];

/** An object met in a generic walk: a node or a node's fields, none of them read by its kind. */
export type TreeObject = Readonly<Record<string, unknown>>;

/** A node or a node's fields, as opposed to a list or a scalar field. */
export const isTreeObject = (value: unknown): value is TreeObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The node's kind: its one key. */
export function kindOf(node: PgNode): NodeKind {
  return (Object.keys(node)[0] ?? '') as NodeKind;
}

/** Whether `value` is a node of this kind. */
export function isKind<K extends NodeKind>(value: unknown, kind: K): value is NodeOf<K> {
  return isTreeObject(value) && Object.hasOwn(value, kind);
}

/** The fields of `value` when it is a node of this kind, else undefined. */
export function bodyOf<K extends NodeKind>(value: unknown, kind: K): BodyOf<K> | undefined {
  return isKind(value, kind) ? value[kind] : undefined;
}

/** The text of a `String` node (a name part), else undefined. */
export const stringOf = (value: unknown): string | undefined => bodyOf(value, 'String')?.sval;

/**
 * The name parts of a name list (function, operator, type and column names are lists of `String`
 * nodes); the parser puts nothing else in the lists this is used for, and an empty name it cannot
 * produce, so anything else reads as ''.
 */
export const names = (list: readonly PgNode[] | undefined): string[] => (list ?? []).map((n) => stringOf(n) ?? '');

const str = (sval: string): NodeOf<'String'> => ({ String: { sval } });

export const columnRef = (...fields: string[]): NodeOf<'ColumnRef'> => ({ ColumnRef: { fields: fields.map(str) } });

export function constant(value: Literal): NodeOf<'A_Const'> {
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

export const funcCall = (schema: string, name: string, args: PgNode[]): NodeOf<'FuncCall'> => ({
  FuncCall: { funcname: [str(schema), str(name)], args, funcformat: 'COERCE_EXPLICIT_CALL' },
});

export const op = (name: string, lexpr: PgNode, rexpr: PgNode): NodeOf<'A_Expr'> => ({
  A_Expr: { kind: 'AEXPR_OP', name: [str('pg_catalog'), str(name)], lexpr, rexpr },
});

export const typeCast = (arg: PgNode, typeName: TypeName): NodeOf<'TypeCast'> => ({ TypeCast: { arg, typeName } });

export const caseWhen = (branches: Array<[PgNode, PgNode]>, otherwise: PgNode): NodeOf<'CaseExpr'> => ({
  CaseExpr: {
    args: branches.map(([expr, result]) => ({ CaseWhen: { expr, result } })),
    defresult: otherwise,
  },
});

export const isNull = (arg: PgNode): NodeOf<'NullTest'> => ({ NullTest: { arg, nulltesttype: 'IS_NULL' } });
export const boolExpr = (boolop: 'AND_EXPR' | 'OR_EXPR' | 'NOT_EXPR', args: PgNode[]): NodeOf<'BoolExpr'> => ({
  BoolExpr: { boolop, args },
});
export const arrayOf = (elements: PgNode[]): NodeOf<'A_ArrayExpr'> => ({ A_ArrayExpr: { elements } });
