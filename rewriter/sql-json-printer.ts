/**
 * pgsql-deparser prints the SQL/JSON constructors and IS JSON but not the query functions of
 * PostgreSQL 17 (JSON_QUERY, JSON_VALUE, JSON_EXISTS: JsonFuncExpr) nor JSON_TABLE (JsonTable).
 * This printer is the deparser plus those two node kinds, written from PostgreSQL's grammar
 * (gram.y, json_table and func_expr_common_subexpr). Every clause the analyst wrote is printed,
 * since each one's absence means a default; identifiers are always quoted and every expression is
 * parenthesized, so nothing depends on the deparser's own quoting or precedence rules here.
 */
import { Deparser } from 'pgsql-deparser';
import type { Node } from './ast';
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
  JsonFuncExpr(node: Node, context: Context): string {
    const parts = [
      `${this.jsonValue(node.context_item as Node, context)}, ${this.expr(node.pathspec as Node, context)}`,
    ];
    parts.push(...this.passing(node.passing as Node[] | undefined, context));
    if (node.output) parts.push(this.returning(node.output as Node, context));
    parts.push(
      pick(WRAPPERS, node.wrapper ?? 'JSW_UNSPEC', 'wrapper'),
      pick(QUOTES, node.quotes ?? 'JS_QUOTES_UNSPEC', 'quotes'),
    );
    parts.push(...this.behaviours(node, context));
    return `${pick(FUNCTION_NAMES, node.op, 'function')}(${parts.filter((p) => p !== '').join(' ')})`;
  }

  JsonTable(node: Node, context: Context): string {
    const path = node.pathspec as Node;
    const parts = [`${this.jsonValue(node.context_item as Node, context)}, ${this.expr(path.string as Node, context)}`];
    if (path.name !== undefined) parts.push(`AS ${quoteIdent(String(path.name))}`);
    parts.push(...this.passing(node.passing as Node[] | undefined, context));
    parts.push(`COLUMNS (${this.columns(node.columns as Node[], context)})`);
    if (node.on_error) parts.push(`${this.behaviour(node.on_error as Node, context)} ON ERROR`);
    let out = `${node.lateral ? 'LATERAL ' : ''}JSON_TABLE(${parts.join(' ')})`;
    const alias = node.alias as Node | undefined;
    if (alias) {
      const columns = ((alias.colnames as Node[] | undefined) ?? []).map((c) => quoteIdent(String(c.String?.sval)));
      out += ` AS ${quoteIdent(String(alias.aliasname))}${columns.length > 0 ? `(${columns.join(', ')})` : ''}`;
    }
    return out;
  }

  private columns(columns: Node[], context: Context): string {
    return columns.map((wrapped) => this.column(wrapped.JsonTableColumn as Node, context)).join(', ');
  }

  private column(column: Node, context: Context): string {
    const name = column.name === undefined ? '' : quoteIdent(String(column.name));
    const path = column.pathspec as Node | undefined;
    const pathClause = path ? `PATH ${this.stringConstant(path.string as Node | undefined, context)}` : '';
    switch (column.coltype) {
      case 'JTC_FOR_ORDINALITY':
        return `${name} FOR ORDINALITY`;
      case 'JTC_NESTED': {
        const pathName = path?.name !== undefined ? ` AS ${quoteIdent(String(path.name))}` : '';
        return `NESTED PATH ${this.stringConstant(path?.string as Node | undefined, context)}${pathName} COLUMNS (${this.columns(column.columns as Node[], context)})`;
      }
      case 'JTC_EXISTS':
        return [
          name,
          this.TypeName(column.typeName, context),
          'EXISTS',
          pathClause,
          column.on_error ? `${this.behaviour(column.on_error as Node, context)} ON ERROR` : '',
        ]
          .filter((p) => p !== '')
          .join(' ');
      case 'JTC_REGULAR':
      case 'JTC_FORMATTED':
        return [
          name,
          this.TypeName(column.typeName, context),
          column.coltype === 'JTC_FORMATTED' ? this.format(column.format as Node | undefined) : '',
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

  private behaviours(node: Node, context: Context): string[] {
    const out: string[] = [];
    if (node.on_empty) out.push(`${this.behaviour(node.on_empty as Node, context)} ON EMPTY`);
    if (node.on_error) out.push(`${this.behaviour(node.on_error as Node, context)} ON ERROR`);
    return out;
  }

  private behaviour(behaviour: Node, context: Context): string {
    if (behaviour.btype === 'JSON_BEHAVIOR_DEFAULT') return `DEFAULT ${this.expr(behaviour.expr as Node, context)}`;
    return pick(BEHAVIOURS, behaviour.btype, 'behaviour');
  }

  private passing(args: Node[] | undefined, context: Context): string[] {
    if (!args || args.length === 0) return [];
    const list = args.map((a) => {
      const arg = a.JsonArgument as Node;
      return `${this.jsonValue(arg.val as Node, context)} AS ${quoteIdent(String(arg.name))}`;
    });
    return [`PASSING ${list.join(', ')}`];
  }

  private returning(output: Node, context: Context): string {
    const format = this.format((output.returning as Node | undefined)?.format as Node | undefined);
    return `RETURNING ${this.TypeName(output.typeName, context)}${format ? ` ${format}` : ''}`;
  }

  /** json_value_expr: an expression and its optional FORMAT clause. */
  private jsonValue(value: Node, context: Context): string {
    const format = this.format(value.format as Node | undefined);
    return `${this.expr(value.raw_expr as Node, context)}${format ? ` ${format}` : ''}`;
  }

  private format(format: Node | undefined): string {
    if (!format || format.format_type === undefined || format.format_type === 'JS_FORMAT_DEFAULT') return '';
    if (format.format_type !== 'JS_FORMAT_JSON')
      throw new Error(`cannot print SQL/JSON format "${String(format.format_type)}"`);
    const encoding = pick(ENCODINGS, format.encoding ?? 'JS_ENC_DEFAULT', 'encoding');
    return encoding ? `FORMAT JSON ${encoding}` : 'FORMAT JSON';
  }

  /** Where the grammar takes a string literal only (a column's PATH, NESTED PATH). */
  private stringConstant(node: Node | undefined, context: Context): string {
    if (typeof node?.A_Const?.sval?.sval !== 'string')
      throw new Error('cannot print a JSON_TABLE path that is not a string constant');
    return this.visit(node as never, context);
  }

  private expr(node: Node | undefined, context: Context): string {
    if (!node) throw new Error('cannot print an empty SQL/JSON expression');
    return `(${this.visit(node as never, context)})`;
  }
}

/** One statement, printed by the deparser with SQL/JSON's query functions and JSON_TABLE added. */
export function deparseWithSqlJson(stmt: Node): string {
  return new SqlJsonDeparser({ version: 170000, stmts: [{ stmt }] } as never, { pretty: false }).deparseQuery();
}
