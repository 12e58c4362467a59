/**
 * pgsql-deparser prints the SQL/JSON constructors and IS JSON but not the query functions of
 * PostgreSQL 17 (JSON_QUERY, JSON_VALUE, JSON_EXISTS: JsonFuncExpr) nor JSON_TABLE (JsonTable).
 * This printer is the deparser plus those two node kinds, written from PostgreSQL's grammar
 * (gram.y, json_table and func_expr_common_subexpr). Every clause the analyst wrote is printed,
 * since each one's absence means a default; identifiers are always quoted and every expression is
 * parenthesized, so nothing depends on the deparser's own quoting or precedence rules here.
 */
import { Deparser } from 'pgsql-deparser';
import type {
  JsonBehavior,
  JsonFormat,
  JsonFuncExpr,
  JsonOutput,
  JsonTable,
  JsonTableColumn,
  JsonValueExpr,
  TypeName,
} from '@pgsql/types';
import { bodyOf, type PgNode } from './ast';
import { quoteIdent } from './quote-ident';

/** The deparser's per-call state, passed through untouched. */
type Context = NonNullable<Parameters<Deparser['visit']>[1]>;

const FUNCTION_NAMES: Readonly<Record<string, string>> = {
  JSON_QUERY_OP: 'JSON_QUERY',
  JSON_VALUE_OP: 'JSON_VALUE',
  JSON_EXISTS_OP: 'JSON_EXISTS',
};

const BEHAVIOURS: Readonly<Record<string, string>> = {
  JSON_BEHAVIOR_NULL: 'NULL',
  JSON_BEHAVIOR_ERROR: 'ERROR',
  JSON_BEHAVIOR_EMPTY: 'EMPTY',
  JSON_BEHAVIOR_TRUE: 'TRUE',
  JSON_BEHAVIOR_FALSE: 'FALSE',
  JSON_BEHAVIOR_UNKNOWN: 'UNKNOWN',
  JSON_BEHAVIOR_EMPTY_ARRAY: 'EMPTY ARRAY',
  JSON_BEHAVIOR_EMPTY_OBJECT: 'EMPTY OBJECT',
};

const WRAPPERS: Readonly<Record<string, string>> = {
  JSW_UNSPEC: '',
  JSW_NONE: 'WITHOUT WRAPPER',
  JSW_CONDITIONAL: 'WITH CONDITIONAL WRAPPER',
  JSW_UNCONDITIONAL: 'WITH UNCONDITIONAL WRAPPER',
};

const QUOTES: Readonly<Record<string, string>> = {
  JS_QUOTES_UNSPEC: '',
  JS_QUOTES_KEEP: 'KEEP QUOTES',
  JS_QUOTES_OMIT: 'OMIT QUOTES',
};

const ENCODINGS: Readonly<Record<string, string>> = {
  JS_ENC_DEFAULT: '',
  JS_ENC_UTF8: 'ENCODING UTF8',
  JS_ENC_UTF16: 'ENCODING UTF16',
  JS_ENC_UTF32: 'ENCODING UTF32',
};

/** A value of a closed set, or an error: an unknown option is never printed as something else. */
function pick(table: Readonly<Record<string, string>>, key: unknown, what: string): string {
  const text = typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
  if (text === undefined) throw new Error(`cannot print SQL/JSON ${what} "${String(key)}"`);
  return text;
}

class SqlJsonDeparser extends Deparser {
  JsonFuncExpr(node: JsonFuncExpr, context: Context): string {
    const parts = [`${this.jsonValue(node.context_item, context)}, ${this.expr(node.pathspec, context)}`];
    parts.push(...this.passing(node.passing, context));
    if (node.output) parts.push(this.returning(node.output, context));
    parts.push(
      pick(WRAPPERS, node.wrapper ?? 'JSW_UNSPEC', 'wrapper'),
      pick(QUOTES, node.quotes ?? 'JS_QUOTES_UNSPEC', 'quotes'),
    );
    parts.push(...this.behaviours(node, context));
    return `${pick(FUNCTION_NAMES, node.op, 'function')}(${parts.filter((p) => p !== '').join(' ')})`;
  }

  JsonTable(node: JsonTable, context: Context): string {
    const path = node.pathspec;
    if (!path) throw new Error('cannot print a JSON_TABLE without a path');
    const parts = [`${this.jsonValue(node.context_item, context)}, ${this.expr(path.string, context)}`];
    if (path.name !== undefined) parts.push(`AS ${quoteIdent(path.name)}`);
    parts.push(...this.passing(node.passing, context));
    parts.push(`COLUMNS (${this.columns(node.columns, context)})`);
    if (node.on_error) parts.push(`${this.behaviour(node.on_error, context)} ON ERROR`);
    let out = `${node.lateral ? 'LATERAL ' : ''}JSON_TABLE(${parts.join(' ')})`;
    const alias = node.alias;
    if (alias) {
      const columns = (alias.colnames ?? []).map((c) => quoteIdent(String(bodyOf(c, 'String')?.sval)));
      out += ` AS ${quoteIdent(String(alias.aliasname))}${columns.length > 0 ? `(${columns.join(', ')})` : ''}`;
    }
    return out;
  }

  private columns(columns: PgNode[] | undefined, context: Context): string {
    if (!columns) throw new Error('cannot print JSON_TABLE columns that are not there');
    return columns.map((wrapped) => this.column(bodyOf(wrapped, 'JsonTableColumn'), context)).join(', ');
  }

  private column(column: JsonTableColumn | undefined, context: Context): string {
    if (!column) throw new Error('cannot print a JSON_TABLE column that is not one');
    const name = column.name === undefined ? '' : quoteIdent(column.name);
    const path = column.pathspec;
    const pathClause = path ? `PATH ${this.stringConstant(path.string, context)}` : '';
    switch (column.coltype) {
      case 'JTC_FOR_ORDINALITY':
        return `${name} FOR ORDINALITY`;
      case 'JTC_NESTED': {
        const pathName = path?.name !== undefined ? ` AS ${quoteIdent(path.name)}` : '';
        return `NESTED PATH ${this.stringConstant(path?.string, context)}${pathName} COLUMNS (${this.columns(column.columns, context)})`;
      }
      case 'JTC_EXISTS':
        return [
          name,
          this.typeName(column.typeName, context),
          'EXISTS',
          pathClause,
          column.on_error ? `${this.behaviour(column.on_error, context)} ON ERROR` : '',
        ]
          .filter((p) => p !== '')
          .join(' ');
      case 'JTC_REGULAR':
      case 'JTC_FORMATTED':
        return [
          name,
          this.typeName(column.typeName, context),
          column.coltype === 'JTC_FORMATTED' ? this.format(column.format) : '',
          pathClause,
          pick(WRAPPERS, column.wrapper ?? 'JSW_UNSPEC', 'wrapper'),
          pick(QUOTES, column.quotes ?? 'JS_QUOTES_UNSPEC', 'quotes'),
          ...this.behaviours(column, context),
        ]
          .filter((p) => p !== '')
          .join(' ');
      default:
        throw new Error(`cannot print JSON_TABLE column kind "${String(column.coltype)}"`);
    }
  }

  private behaviours(node: { on_empty?: JsonBehavior; on_error?: JsonBehavior }, context: Context): string[] {
    const out: string[] = [];
    if (node.on_empty) out.push(`${this.behaviour(node.on_empty, context)} ON EMPTY`);
    if (node.on_error) out.push(`${this.behaviour(node.on_error, context)} ON ERROR`);
    return out;
  }

  private behaviour(behaviour: JsonBehavior, context: Context): string {
    if (behaviour.btype === 'JSON_BEHAVIOR_DEFAULT') return `DEFAULT ${this.expr(behaviour.expr, context)}`;
    return pick(BEHAVIOURS, behaviour.btype, 'behaviour');
  }

  private passing(args: PgNode[] | undefined, context: Context): string[] {
    if (!args || args.length === 0) return [];
    const list = args.map((a) => {
      const arg = bodyOf(a, 'JsonArgument');
      if (!arg) throw new Error('cannot print a PASSING argument that is not one');
      return `${this.jsonValue(arg.val, context)} AS ${quoteIdent(String(arg.name))}`;
    });
    return [`PASSING ${list.join(', ')}`];
  }

  private returning(output: JsonOutput, context: Context): string {
    const format = this.format(output.returning?.format);
    return `RETURNING ${this.typeName(output.typeName, context)}${format ? ` ${format}` : ''}`;
  }

  /** json_value_expr: an expression and its optional FORMAT clause. */
  private jsonValue(value: JsonValueExpr | undefined, context: Context): string {
    if (!value) throw new Error('cannot print an empty SQL/JSON value');
    const format = this.format(value.format);
    return `${this.expr(value.raw_expr, context)}${format ? ` ${format}` : ''}`;
  }

  private format(format: JsonFormat | undefined): string {
    if (!format || format.format_type === undefined || format.format_type === 'JS_FORMAT_DEFAULT') return '';
    if (format.format_type !== 'JS_FORMAT_JSON')
      throw new Error(`cannot print SQL/JSON format "${String(format.format_type)}"`);
    const encoding = pick(ENCODINGS, format.encoding ?? 'JS_ENC_DEFAULT', 'encoding');
    return encoding ? `FORMAT JSON ${encoding}` : 'FORMAT JSON';
  }

  private typeName(typeName: TypeName | undefined, context: Context): string {
    if (!typeName) throw new Error('cannot print an SQL/JSON type that is not there');
    return this.TypeName(typeName, context);
  }

  /** Where the grammar takes a string literal only (a column's PATH, NESTED PATH). */
  private stringConstant(node: PgNode | undefined, context: Context): string {
    if (typeof bodyOf(node, 'A_Const')?.sval?.sval !== 'string' || !node)
      throw new Error('cannot print a JSON_TABLE path that is not a string constant');
    return this.visit(node, context);
  }

  private expr(node: PgNode | undefined, context: Context): string {
    if (!node) throw new Error('cannot print an empty SQL/JSON expression');
    return `(${this.visit(node, context)})`;
  }
}

/** One statement, printed by the deparser with SQL/JSON's query functions and JSON_TABLE added. */
export function deparseWithSqlJson(stmt: PgNode): string {
  return new SqlJsonDeparser({ version: 170000, stmts: [{ stmt }] }, { pretty: false }).deparseQuery();
}
