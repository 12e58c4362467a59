/**
 * rewrite(sql, context): parse with PostgreSQL's grammar, allow only known statement classes,
 * substitute protected relations, deparse. Pure and synchronous; every failure is a Refusal.
 */
import type { DecisionReason } from '../policies';
import {
  refusal,
  type RewriteContext,
  type RewriteOutcome,
  type SessionEffect,
  type TransactionOp,
} from './rewrite-types';
import type { CopyStmt, ExplainStmt, TransactionStmt, VariableSetStmt } from '@pgsql/types';
import { bodyOf, isKind, kindOf, names, type NodeOf, type PgNode } from './ast';
import { deparseStatement, statementText, statementsOf, type Statement } from './sql-parser';
import { parseQuery } from './read-back-parser';
import { RelationSubstitution } from './relation-substitution';
import { splicedQuery } from './splice';
import { checkLock } from './lock-statement';
import {
  SetConfigValueError,
  setConfigCall,
  setConfigText,
  settingValues,
  type SetConfigCall,
} from './set-config-call';
import {
  checkSearchPath,
  checkTransaction,
  describeStatement,
  GuardRefusal,
  PLAIN_STATEMENTS,
  QUERY_STATEMENTS,
  isSafeClientEncoding,
  SETTABLE,
} from './statement-guard';

const DEFAULT_SEARCH_PATH = ['$user', 'public'];

/** sql-parser.ts's parseTree, on the read-back parser's instance (its faster way in and out). */
const parseStatements = (sql: string): Statement[] => statementsOf(parseQuery(sql));

export function rewrite(sql: string, context: RewriteContext): RewriteOutcome {
  const policyVersion = context.policies.version;
  let statements: Statement[];
  try {
    statements = parseStatements(sql);
  } catch (error) {
    const refused = refusal(
      '42601',
      `statement could not be parsed: ${(error as Error).message}`,
      ['syntax_error'],
      policyVersion,
    );
    // The parser's cursor is 0-based, in characters; -1 when the error has no place.
    const cursor = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    return typeof cursor === 'number' && cursor >= 0 ? { ...refused, position: cursor + 1 } : refused;
  }
  try {
    const subscription = context.policies.subscription(context.principal, context.dataProduct);
    if (!subscription.allowed) {
      throw new GuardRefusal(
        'not_subscribed',
        `user "${context.principal.user}" is not subscribed to data product "${context.dataProduct}"`,
      );
    }
    const out: string[] = [];
    const effects: SessionEffect[] = [];
    const reasons: DecisionReason[] = [];
    const relations = new Set<string>();
    let searchPath = context.searchPath;
    for (let index = 0; index < statements.length; index++) {
      const parsed = statements[index]!;
      const { stmt } = parsed;
      // A SET search_path earlier in the same message applies to the statements after it.
      const substitution = new RelationSubstitution(
        searchPath === context.searchPath ? context : { ...context, searchPath },
      );
      const rewritten = rewriteStatement(stmt, substitution, () => statementText(sql, parsed));
      const effect = rewritten.effect;
      const substituted = substitution.finish(rewritten.stmt);
      const text =
        (statements.length === 1
          ? spliced(sql, { stmt: substituted, location: parsed.location, length: parsed.length }, substitution)
          : undefined) ?? printed(substituted);
      if (effect) {
        // Prepared statements and cursors keep their rewritten text: a later EXECUTE or FETCH
        // compares it with what the current decision would print.
        effects.push(
          effect.kind === 'prepare' || effect.kind === 'declare_cursor'
            ? { ...effect, rewritten: text, statement: index }
            : { ...effect, statement: index },
        );
        if (effect.kind === 'set' && effect.values.searchPath) searchPath = effect.values.searchPath;
        if ((effect.kind === 'reset' && effect.settings.includes('searchPath')) || effect.kind === 'discard_all')
          searchPath = DEFAULT_SEARCH_PATH;
      }
      if (substitution.sessionLock) effects.push({ kind: 'session_lock', statement: index });
      out.push(text);
      reasons.push(...substitution.reasons);
      for (const r of substitution.substituted) relations.add(r);
    }
    return {
      kind: 'plan',
      sql: out.join(';\n'),
      statementCount: out.length,
      rewritten: relations.size > 0,
      relations: [...relations],
      reasons,
      effects,
      policyVersion,
    };
  } catch (error) {
    if (error instanceof GuardRefusal) return refusal(error.sqlstate, error.message, [error.rule], policyVersion);
    return refusal(
      'XX000',
      `statement refused: pgveil could not rewrite it (${(error as Error).message})`,
      ['internal_error'],
      policyVersion,
    );
  }
}

/**
 * The deparser is a second implementation of PostgreSQL's grammar, so its output is checked the
 * way PostgreSQL will read it: one statement of the same kind, and for statements other than
 * queries (small, and forwarded as they are) the very same tree. A printing mistake then refuses
 * the statement instead of sending upstream something no rule looked at.
 */
function printed(stmt: PgNode): string {
  const select = bodyOf(stmt, 'SelectStmt');
  const call = select ? setConfigCall(select) : undefined;
  const own = call ? setConfigText(call) : printedSetting(stmt);
  if (own !== undefined && readsBackAs(own, stmt) === undefined) return own;
  const sql = deparseStatement(stmt);
  const problem = readsBackAs(sql, stmt);
  if (problem) throw new Error(problem);
  return sql;
}

/** A single query's text with the substitution spliced in, or undefined: then it is printed. */
function spliced(sql: string, parsed: Statement, substitution: RelationSubstitution): string | undefined {
  const edits = substitution.spliceEdits;
  const select = bodyOf(parsed.stmt, 'SelectStmt');
  if (!edits || !select || setConfigCall(select)) return undefined;
  return splicedQuery(sql, parsed, edits);
}

/** Why `sql` is not what PostgreSQL will read as `stmt`, or undefined when it is. */
function readsBackAs(sql: string, stmt: PgNode): string | undefined {
  let again;
  try {
    again = parseStatements(sql);
  } catch (error) {
    return `the rewritten statement does not parse (${(error as Error).message})`;
  }
  const kind = kindOf(stmt);
  if (again.length !== 1 || kindOf(again[0]!.stmt) !== kind)
    return 'the rewritten statement does not read back as one statement of the same kind';
  if (!QUERY_STATEMENTS.has(kind) && treeText(again[0]!.stmt) !== treeText(stmt))
    return 'the rewritten statement does not read back as the same statement';
  return undefined;
}

/**
 * `SET name TO 'value', ...` printed here: the deparser does not escape quotes in SET values. Names
 * come from the SETTABLE allow-list; values are escape strings, which mean the same whatever
 * standard_conforming_strings is.
 */
function printedSetting(stmt: PgNode): string | undefined {
  const body = bodyOf(stmt, 'VariableSetStmt');
  if (!body || body.kind !== 'VAR_SET_VALUE' || !SETTABLE.has(String(body.name))) return undefined;
  const values: string[] = [];
  for (const arg of body.args ?? []) {
    const text = bodyOf(arg, 'A_Const')?.sval?.sval;
    if (typeof text !== 'string') return undefined;
    values.push(`E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`);
  }
  if (values.length === 0) return undefined;
  return `SET ${body.is_local ? 'LOCAL ' : ''}${String(body.name)} TO ${values.join(', ')}`;
}

/** A parse tree without source positions. */
function treeText(node: PgNode): string {
  return JSON.stringify(node, (key, value: unknown) => (key === 'location' ? undefined : value));
}

/** A session effect before it is numbered with its statement's place in the message. */
type Effect = SessionEffect extends infer E
  ? E extends SessionEffect
    ? Omit<E, 'statement' | 'rewritten'>
    : never
  : never;

/**
 * One statement rewritten (a new tree; the parsed one is left as it is, finish() still to come),
 * and the session effect it has once it succeeds.
 */
function rewriteStatement(
  stmt: PgNode,
  substitution: RelationSubstitution,
  ownText: () => string,
): { stmt: PgNode; effect?: Effect } {
  const kind = kindOf(stmt);
  const effect = (e: Effect | undefined): { stmt: PgNode; effect?: Effect } => (e ? { stmt, effect: e } : { stmt });
  if (!QUERY_STATEMENTS.has(kind) && !PLAIN_STATEMENTS.has(kind)) {
    throw new GuardRefusal('statement_class', `${describeStatement(kind)} statements are not allowed through pgveil`);
  }
  switch (kind) {
    case 'SelectStmt': {
      const call = setConfigCall(bodyOf(stmt, 'SelectStmt')!);
      if (call) return effect(settingByCall(call));
      return { stmt: substitution.query(stmt) };
    }
    case 'DeclareCursorStmt': {
      const cursor = bodyOf(stmt, 'DeclareCursorStmt')!;
      // The analyst's own text is kept so a later FETCH can tell whether the decision still holds.
      const sql = ownText();
      const query = substitution.query(cursor.query!);
      return {
        stmt: { DeclareCursorStmt: { ...cursor, query } },
        effect: {
          kind: 'declare_cursor',
          name: String(cursor.portalname ?? ''),
          hold: (Number(cursor.options ?? 0) & CURSOR_OPT_HOLD) !== 0,
          sql,
        },
      };
    }
    case 'PrepareStmt': {
      const prepare = bodyOf(stmt, 'PrepareStmt')!;
      const sql = ownText();
      const query = substitution.query(prepare.query!);
      if (!isKind(query, 'SelectStmt'))
        throw new GuardRefusal('statement_class', 'only queries may be prepared through pgveil');
      return {
        stmt: { PrepareStmt: { ...prepare, query } },
        effect: { kind: 'prepare', name: String(prepare.name ?? ''), sql },
      };
    }
    case 'ExecuteStmt': {
      const execute = bodyOf(stmt, 'ExecuteStmt')!;
      const executed: Effect = { kind: 'execute', name: String(execute.name ?? '') };
      if (!execute.params) return effect(executed);
      const params = execute.params.map((p) => substitution.expression(p));
      return { stmt: { ExecuteStmt: { ...execute, params } }, effect: executed };
    }
    case 'FetchStmt':
      return effect({ kind: 'fetch', name: String(bodyOf(stmt, 'FetchStmt')!.portalname ?? '') });
    case 'ExplainStmt':
      return { stmt: { ExplainStmt: explain(bodyOf(stmt, 'ExplainStmt')!, substitution) } };
    case 'CopyStmt':
      return { stmt: { CopyStmt: copy(bodyOf(stmt, 'CopyStmt')!, substitution) } };
    case 'VariableSetStmt':
      return effect(setting(bodyOf(stmt, 'VariableSetStmt')!));
    case 'TransactionStmt':
      return effect(transaction(bodyOf(stmt, 'TransactionStmt')!));
    case 'LockStmt':
      return { stmt: { LockStmt: checkLock(bodyOf(stmt, 'LockStmt')!, substitution) } };
    case 'DeallocateStmt': {
      const deallocate = bodyOf(stmt, 'DeallocateStmt')!;
      return effect({
        kind: 'deallocate',
        name: deallocate.isall || deallocate.name === undefined ? undefined : String(deallocate.name),
      });
    }
    case 'ClosePortalStmt': {
      const portalname = bodyOf(stmt, 'ClosePortalStmt')!.portalname;
      return effect({ kind: 'close_cursor', name: portalname === undefined ? undefined : String(portalname) });
    }
    case 'DiscardStmt':
      return effect(bodyOf(stmt, 'DiscardStmt')!.target === 'DISCARD_ALL' ? { kind: 'discard_all' } : undefined);
    default:
      return { stmt }; // SHOW
  }
}

/** PostgreSQL's CURSOR_OPT_HOLD: the cursor outlives its transaction. */
const CURSOR_OPT_HOLD = 0x0020;

const TRANSACTION_OPS: Readonly<Record<string, TransactionOp>> = {
  TRANS_STMT_BEGIN: 'begin',
  TRANS_STMT_START: 'begin',
  TRANS_STMT_COMMIT: 'commit',
  TRANS_STMT_ROLLBACK: 'rollback',
  TRANS_STMT_SAVEPOINT: 'savepoint',
  TRANS_STMT_RELEASE: 'release',
  TRANS_STMT_ROLLBACK_TO: 'rollback_to',
};

function transaction(body: TransactionStmt): Effect | undefined {
  const kind = String(body.kind);
  checkTransaction(kind);
  const op = TRANSACTION_OPS[kind];
  if (!op)
    throw new GuardRefusal(
      'statement_class',
      `transaction statement "${kind.toLowerCase()}" is not allowed through pgveil`,
    );
  return {
    kind: 'transaction',
    op,
    ...(body.savepoint_name !== undefined ? { savepoint: String(body.savepoint_name) } : {}),
    ...(body.chain ? { chain: true } : {}),
  };
}

function explain(body: ExplainStmt, substitution: RelationSubstitution): ExplainStmt {
  const options = (body.options ?? []).map((o) => bodyOf(o, 'DefElem')?.defname);
  if (options.includes('analyze'))
    throw new GuardRefusal(
      'explain_analyze',
      'EXPLAIN ANALYZE executes the statement and reports rows a policy hides: not allowed through pgveil',
    );
  const query = body.query;
  if (!isKind(query, 'SelectStmt'))
    throw new GuardRefusal('statement_class', 'only queries may be explained through pgveil');
  const substituted = substitution.query(query);
  // Plans carry estimates computed from statistics over the raw values of every row.
  if (substitution.touchedProtected) {
    throw new GuardRefusal(
      'explain_protected',
      'EXPLAIN of a statement over a protected relation is not allowed: its estimates come from statistics of hidden values',
    );
  }
  return { ...body, query: substituted };
}

function copy(body: CopyStmt, substitution: RelationSubstitution): CopyStmt {
  if (body.is_from) throw new GuardRefusal('copy_from', 'COPY FROM is not allowed through pgveil');
  if (body.filename !== undefined || body.is_program)
    throw new GuardRefusal(
      'copy_to_file',
      'COPY to a file or program is not allowed through pgveil: use COPY ... TO STDOUT',
    );
  if (body.relation) {
    // COPY t (cols) TO STDOUT reads the table directly: turn it into a query over the same columns.
    const { relation, attlist, ...rest } = body;
    const columns = (attlist ?? []).map((c) => ({
      ResTarget: { val: { ColumnRef: { fields: [c] } } },
    }));
    const query: NodeOf<'SelectStmt'> = {
      SelectStmt: {
        targetList:
          columns.length > 0 ? columns : [{ ResTarget: { val: { ColumnRef: { fields: [{ A_Star: {} }] } } } }],
        fromClause: [{ RangeVar: relation }],
        limitOption: 'LIMIT_OPTION_DEFAULT',
        op: 'SETOP_NONE',
      },
    };
    return { ...rest, query: substitution.query(query) };
  }
  return { ...body, query: substitution.query(body.query!) };
}

/** `SELECT set_config('name', 'value', is_local)`: checked and tracked as the SET it amounts to. */
function settingByCall(call: SetConfigCall): Effect | undefined {
  let values: string[];
  try {
    values = settingValues(call);
  } catch (error) {
    if (!(error instanceof SetConfigValueError)) throw error;
    throw new GuardRefusal('setting', `invalid list syntax in setting "${call.name}": "${call.value}"`, '22023');
  }
  const effect = setting({
    kind: 'VAR_SET_VALUE',
    name: call.name,
    args: values.map((sval) => ({ A_Const: { sval: { sval } } })),
    is_local: call.local,
  });
  // The form that sets only a setting pg_settings lists may change nothing: pgveil could not tell.
  const tracked =
    (effect?.kind === 'set' && Object.keys(effect.values).length > 0) ||
    (effect?.kind === 'reset' && effect.settings.length > 0);
  if (tracked && call.ifExists)
    throw new GuardRefusal(
      'setting',
      `set_config of "${call.name}" over pg_settings is not allowed through pgveil: use SET`,
    );
  return effect;
}

function setting(body: VariableSetStmt): Effect | undefined {
  const kind = body.kind!;
  const local = body.is_local === true;
  if (kind === 'VAR_RESET_ALL') return { kind: 'reset', settings: ['searchPath', 'purpose'], local: false };
  const name = String(body.name ?? '').toLowerCase();
  if (kind === 'VAR_SET_MULTI') {
    if (name === 'transaction') return undefined;
    // SET SESSION CHARACTERISTICS changes default_transaction_* for the session: a pool must know.
    if (name === 'session characteristics') return { kind: 'set', values: {}, local: false };
    throw new GuardRefusal('setting', `setting "${name}" cannot be changed through pgveil`);
  }
  if (!SETTABLE.has(name)) throw new GuardRefusal('setting', `setting "${name}" cannot be changed through pgveil`);
  const values = (body.args ?? []).map((a) =>
    String(bodyOf(a, 'A_Const')?.sval?.sval ?? names(bodyOf(a, 'ColumnRef')?.fields).join('.')),
  );
  const reset = kind === 'VAR_RESET' || kind === 'VAR_SET_DEFAULT';
  if (name === 'client_encoding' && !reset && !isSafeClientEncoding(values[0] ?? '')) {
    throw new GuardRefusal('setting', `client_encoding "${values[0] ?? ''}" is not supported through pgveil: use UTF8`);
  }
  const tracked = name === 'search_path' ? 'searchPath' : name === 'pgveil.purpose' ? 'purpose' : undefined;
  // A setting pgveil's decisions do not read still changes the session (a pool carries it over).
  if (!tracked) return reset ? { kind: 'reset', settings: [], local } : { kind: 'set', values: {}, local };
  if (reset) return { kind: 'reset', settings: [tracked], local };
  if (tracked === 'searchPath') {
    checkSearchPath(values);
    return { kind: 'set', values: { searchPath: values }, local };
  }
  return { kind: 'set', values: { purpose: values[0] }, local };
}
