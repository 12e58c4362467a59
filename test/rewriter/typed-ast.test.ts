/**
 * The typed AST helpers (rewriter/ast.ts): narrowing by kind reads the parser's trees as they are,
 * the builders make exactly the shapes the parser makes, and the generic walks still reach every field.
 */
import {
  bodyOf,
  caseWhen,
  columnRef,
  constant,
  funcCall,
  isKind,
  isNull,
  isTreeObject,
  kindOf,
  names,
  op,
  stringOf,
  typeCast,
  type PgNode,
} from '../../rewriter/ast';
import {
  deparseStatement,
  initRewriter,
  parseExpression,
  parseTree,
  parseTypeName,
  statementText,
} from '../../rewriter/sql-parser';
import { rowFilterExpression } from '../../rewriter/row-filter';
import { setConfigCall } from '../../rewriter/set-config-call';
import { QualifiedColumns } from '../../rewriter/qualified-names';
import { originalPosition } from '../../rewriter/position-map';

beforeAll(() => initRewriter());

/** The tree without the parser's source positions, which the builders do not set. */
function withoutLocations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLocations);
  if (!isTreeObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'location')
      .map(([key, v]) => [key, withoutLocations(v)]),
  );
}

/** The expression of `SELECT <expr>`, as the parser reads it. */
function parsedTarget(expr: string): PgNode | undefined {
  const select = bodyOf(parseTree(`SELECT ${expr}`)[0]?.stmt, 'SelectStmt');
  return bodyOf(select?.targetList?.[0], 'ResTarget')?.val;
}

describe('narrowing by kind', () => {
  test('kindOf, isKind and bodyOf read a parsed statement', () => {
    const [statement] = parseTree('SELECT a.b FROM s.t AS a');
    const stmt = statement!.stmt;
    expect(kindOf(stmt)).toBe('SelectStmt');
    expect(isKind(stmt, 'SelectStmt')).toBe(true);
    expect(isKind(stmt, 'InsertStmt')).toBe(false);
    expect(bodyOf(stmt, 'InsertStmt')).toBeUndefined();
    const from = bodyOf(bodyOf(stmt, 'SelectStmt')?.fromClause?.[0], 'RangeVar');
    expect(from).toMatchObject({ schemaname: 's', relname: 't', alias: { aliasname: 'a' } });
  });

  test('anything that is not a node is no node of any kind', () => {
    for (const value of [undefined, null, 0, 'RangeVar', [], [{ RangeVar: {} }]]) {
      expect(isKind(value, 'RangeVar')).toBe(false);
      expect(bodyOf(value, 'RangeVar')).toBeUndefined();
      expect(stringOf(value)).toBeUndefined();
    }
    // A body is an object but not a node: its fields are not kinds.
    expect(isTreeObject({ relname: 't' })).toBe(true);
    expect(isKind({ relname: 't' }, 'RangeVar')).toBe(false);
  });

  test('names reads a name list; what is not a String reads as an empty part', () => {
    const fields = bodyOf(parsedTarget('s.t.*'), 'ColumnRef')?.fields;
    expect(names(fields)).toEqual(['s', 't', '']);
    expect(names(undefined)).toEqual([]);
    expect(stringOf(fields?.[0])).toBe('s');
  });

  test('a statement parsed, printed and cut out of its text', () => {
    const [statement] = parseTree('SELECT 1');
    expect(kindOf(statement!.stmt)).toBe('SelectStmt');
    expect(deparseStatement(statement!.stmt)).toBe('SELECT 1');
    expect(statementText('SELECT 1; SELECT 2', parseTree('SELECT 1; SELECT 2')[1]!)).toBe('SELECT 2');
  });
});

describe('the builders make what the parser makes', () => {
  test.each([
    ['0', 0],
    ['7', 7],
    ['-7', -7],
    ['2147483648', 2 ** 31],
    ['1.5', 1.5],
    ["'text'", 'text'],
    ['true', true],
    ['false', false],
    ['NULL', null],
  ] as const)('constant %s', (sql, value) => {
    expect(constant(value)).toEqual(withoutLocations(parsedTarget(sql)));
  });

  test('column references, calls, operators, casts, CASE and IS NULL', () => {
    const built = caseWhen(
      [[isNull(columnRef('c')), constant(null)]],
      op('=', funcCall('pg_catalog', 'lower', [typeCast(columnRef('t', 'c'), parseTypeName('text'))]), constant('x')),
    );
    const parsed = parsedTarget(
      "CASE WHEN c IS NULL THEN NULL ELSE pg_catalog.lower(t.c::text) OPERATOR(pg_catalog.=) 'x' END",
    );
    expect(withoutLocations(built)).toEqual(withoutLocations(parsed));
  });

  test('a type name is a fresh copy each time', () => {
    const a = parseTypeName('character varying(64)');
    const b = parseTypeName('character varying(64)');
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
    expect(names(a.names)).toEqual(['pg_catalog', 'varchar']);
    expect(() => parseTypeName('no such type(')).toThrow();
  });
});

describe('generic walks reach every field of every node kind', () => {
  test("a row filter template's parameters are bound wherever they sit", () => {
    const expr = rowFilterExpression({
      op: 'template',
      sql: "region = ANY ($1) AND EXISTS (SELECT 1 FROM (VALUES ($2)) v(x) WHERE x = id) AND JSON_EXISTS(doc, '$.a' PASSING $2 AS p)",
      params: [['EU', 'US'], 3],
    });
    const text = JSON.stringify(expr);
    expect(text).not.toContain('ParamRef');
    expect(text.match(/"ival":3/g)).toHaveLength(2);
    expect(text).toContain('"sval":"US"');
  });

  test('an unbound parameter is refused', () => {
    expect(() => rowFilterExpression({ op: 'template', sql: 'region = $2', params: ['EU'] })).toThrow(
      'parameter $2 is not bound',
    );
    // `$0` was printed as a string constant before: no parameter of the template, so refused too.
    expect(() => rowFilterExpression({ op: 'template', sql: 'region = $0', params: ['EU'] })).toThrow(
      'parameter $0 is not bound',
    );
  });

  test('parseExpression reads one expression, and nothing else', () => {
    expect(kindOf(parseExpression('a = 1'))).toBe('A_Expr');
    expect(() => parseExpression('')).toThrow();
  });

  test('positions map through node kinds the map has no code for', () => {
    const original = "SELECT  JSON_VALUE(doc,  '$.a')  FROM  t  WHERE  x  IN  (SELECT  y  FROM  u)";
    const rewritten = "SELECT JSON_VALUE(doc, '$.a') FROM t WHERE x IN (SELECT y FROM u)";
    expect(originalPosition(original, rewritten, rewritten.indexOf('doc') + 1)).toBe(original.indexOf('doc') + 1);
    expect(originalPosition(original, rewritten, rewritten.indexOf('y ') + 1)).toBe(original.indexOf('y ') + 1);
  });
});

describe('typed readers over parsed statements', () => {
  const select = (sql: string) => bodyOf(parseTree(sql)[0]?.stmt, 'SelectStmt')!;

  test('set_config is recognised only in its own shape', () => {
    expect(setConfigCall(select("SELECT pg_catalog.set_config('Search_Path', '', false)"))).toEqual({
      name: 'search_path',
      value: '',
      local: false,
      ifExists: false,
    });
    expect(setConfigCall(select("SELECT set_config(name, 'off', true) FROM pg_settings WHERE name = 'jit'"))).toEqual({
      name: 'jit',
      value: 'off',
      local: true,
      ifExists: true,
    });
    for (const sql of [
      "SELECT set_config('a', 'b', false), 1",
      "SELECT set_config('a', 'b', false) AS x",
      "SELECT set_config($1, 'b', false)",
      "SELECT s.set_config('a', 'b', false)",
      "SELECT set_config(name, 'off', false) FROM pg_settings WHERE OPERATOR(pg_catalog.=) 'jit'",
      "SELECT set_config(name, 'off', false) FROM ONLY pg_settings WHERE name = 'jit'",
    ])
      expect(setConfigCall(select(sql))).toBeUndefined();
  });

  test('qualified column references keep their list unless it changes', () => {
    const qualified = new QualifiedColumns('sales');
    qualified.fromItem('customers');
    qualified.derivedTable('public', 'customers', false);
    const fields = (sql: string) => bodyOf(parsedTarget(sql), 'ColumnRef')!.fields!;
    const kept = fields('customers.email');
    expect(qualified.columnRef(kept)).toBe(kept);
    expect(names(qualified.columnRef(fields('sales.public.customers.email')))).toEqual(['customers', 'email']);
    expect(names(qualified.columnRef(fields('public.customers.*')))).toEqual(['customers', '']);
    expect(() => qualified.columnRef(fields('other.public.customers.email'))).toThrow('cross-database');
  });
});
