/**
 * Column actions as expressions built from AST nodes: policy values become constants, never SQL
 * text. Every function and operator is qualified with pg_catalog (or the helper schema), and none
 * of them raises on any input, so a mask can never be used as an error oracle.
 */
import type { ColumnAction } from '../policies';
import type { CatalogColumn } from './catalog-types';
import type { TypeName } from '@pgsql/types';
import { caseWhen, columnRef, constant, funcCall, isNull, op, typeCast, type PgNode } from './ast';
import { parseTypeName } from './sql-parser';

const TEXT_TYPES = /^(text|character varying(\(\d+\))?|character(\(\d+\))?|name|citext)$/;

const textType = (): TypeName => ({
  names: [{ String: { sval: 'pg_catalog' } }, { String: { sval: 'text' } }],
  typemod: -1,
});
const asText = (column: string): PgNode => typeCast(columnRef(column), textType());
const pg = (name: string, ...args: PgNode[]): PgNode => funcCall('pg_catalog', name, args);
const nullOr = (column: string, masked: PgNode): PgNode =>
  caseWhen([[isNull(columnRef(column)), constant(null)]], masked);

/** Casts a text result back to the column's type when that type is textual, so the column keeps its type. */
function keepTextType(expr: PgNode, column: CatalogColumn): PgNode {
  return TEXT_TYPES.test(column.type) && column.type !== 'text' ? typeCast(expr, parseTypeName(column.type)) : expr;
}

export function maskExpression(column: CatalogColumn, action: ColumnAction, helperSchema: string): PgNode {
  const c = column.name;
  switch (action.kind) {
    case 'allow':
      return columnRef(c);
    case 'null':
      return typeCast(constant(null), parseTypeName(column.type));
    case 'constant':
      return typeCast(constant(action.value === null ? null : String(action.value)), parseTypeName(column.type));
    case 'deny':
      // Never evaluated: the rewriter refuses any statement that references a denied column.
      return typeCast(constant(null), parseTypeName(column.type));
    case 'hash':
      return nullOr(c, funcCall(helperSchema, 'keyed_hash', [asText(c)]));
    case 'mask': {
      const length = pg('length', asText(c));
      const keep = action.keepFirst + action.keepLast;
      // Values too short to keep anything without revealing all of it are masked entirely.
      const masked = caseWhen(
        [[op('<=', length, constant(keep)), pg('repeat', constant(action.maskChar), length)]],
        pg(
          'concat',
          pg('left', asText(c), constant(action.keepFirst)),
          pg('repeat', constant(action.maskChar), op('-', pg('length', asText(c)), constant(keep))),
          pg('right', asText(c), constant(action.keepLast)),
        ),
      );
      return keepTextType(nullOr(c, masked), column);
    }
    case 'mask_email': {
      const at = pg('strpos', asText(c), constant('@'));
      const masked = caseWhen(
        [[op('<=', at, constant(1)), pg('repeat', constant('*'), pg('length', asText(c)))]],
        pg(
          'concat',
          pg('left', asText(c), constant(1)),
          pg('repeat', constant('*'), op('-', at, constant(2))),
          pg('substr', asText(c), at),
        ),
      );
      return keepTextType(nullOr(c, masked), column);
    }
    case 'regex':
      return keepTextType(
        nullOr(
          c,
          pg(
            'regexp_replace',
            asText(c),
            constant(action.pattern),
            constant(action.replacement),
            constant(action.flags),
          ),
        ),
        column,
      );
    case 'round':
      return typeCast(
        pg('round', typeCast(columnRef(c), parseTypeName('numeric')), constant(action.digits)),
        parseTypeName(column.type),
      );
    case 'truncate_date':
      return typeCast(pg('date_trunc', constant(action.unit), columnRef(c)), parseTypeName(column.type));
  }
}
