/**
 * What an analyst may run at all, independent of any table: an allow-list of statement classes,
 * settings and EXPLAIN options, and deny-lists of functions and catalogs that run SQL text, read
 * files, reach other servers or expose statistics and other sessions' statements.
 */
import type { RefusalRule } from './rewrite-types';

export class GuardRefusal extends Error {
  override readonly name = 'GuardRefusal';
  constructor(
    readonly rule: RefusalRule,
    message: string,
    readonly sqlstate = '42501',
  ) {
    super(message);
  }
}

/** Statements that are rewritten (they contain a query) or passed as they are. */
export const QUERY_STATEMENTS = new Set([
  'SelectStmt',
  'DeclareCursorStmt',
  'PrepareStmt',
  'ExplainStmt',
  'CopyStmt',
  'ExecuteStmt',
]);
export const PLAIN_STATEMENTS = new Set([
  'VariableSetStmt',
  'VariableShowStmt',
  'TransactionStmt',
  'FetchStmt',
  'ClosePortalStmt',
  'DeallocateStmt',
  'DiscardStmt',
  'LockStmt',
]);

/** Settings an analyst may SET/RESET: presentation and client behaviour only. */
export const SETTABLE = new Set([
  'search_path',
  'application_name',
  'timezone',
  'datestyle',
  'intervalstyle',
  'extra_float_digits',
  'client_encoding',
  'client_min_messages',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'bytea_output',
  'transaction_isolation',
  'default_transaction_isolation',
  'default_transaction_read_only',
  'transaction_read_only',
  'jit',
  'work_mem',
  // pg_dump's: the order a table scan starts in, and RLS raising an error where it would filter
  // (the service account cannot bypass RLS by it: without BYPASSRLS the query fails instead).
  'synchronize_seqscans',
  'row_security',
  // Only narrows what upstream runs (no views, no foreign tables outside the system schemas).
  'restrict_nonsystem_relation_kind',
  'pgveil.purpose',
]);

/**
 * Encodings whose bytes mean the same to pgveil's parser and to PostgreSQL's. Multi-byte encodings
 * whose trailing bytes can look like a quote or backslash (SJIS, BIG5, GBK...) would let one text
 * parse differently on each side.
 */
const SAFE_CLIENT_ENCODINGS = new Set(['utf8', 'unicode', 'sqlascii']);

/**
 * PostgreSQL reads an encoding name ignoring case and every character that is not a letter or a
 * digit (clean_encoding_name): `'utf-8'`, `UTF8` and `Unicode` name one encoding, and so here.
 */
export function isSafeClientEncoding(name: string): boolean {
  return SAFE_CLIENT_ENCODINGS.has(name.toLowerCase().replace(/[^a-z0-9]/g, ''));
}

/**
 * The rewrite names built-in types and functions unqualified in a few places (the deparser prints
 * `::text`); they resolve to pg_catalog only while pg_catalog is searched first, which PostgreSQL
 * does unless the path lists it later. So a path may name pg_catalog only in first place.
 */
export function checkSearchPath(schemas: readonly string[]): void {
  const at = schemas.indexOf('pg_catalog');
  if (at > 0) throw new GuardRefusal('search_path', 'search_path must not place pg_catalog after other schemas');
}

const REFUSED_TRANSACTIONS = new Set([
  'TRANS_STMT_PREPARE',
  'TRANS_STMT_COMMIT_PREPARED',
  'TRANS_STMT_ROLLBACK_PREPARED',
]);

export function checkTransaction(kind: string): void {
  if (REFUSED_TRANSACTIONS.has(kind))
    throw new GuardRefusal('two_phase_commit', 'two-phase commit statements are not allowed through pgveil');
}

/**
 * Functions refused in any schema: they run SQL text (a second statement the rewrite never saw),
 * read or write files, reach other servers or other sessions, or change server state.
 */
const REFUSED_FUNCTIONS: ReadonlyArray<[RegExp, string]> = [
  [/^(query|table|cursor|schema|database)_to_xml(schema|_and_xmlschema)?$/, 'runs sql text'],
  [/^(query|table|cursor|schema|database)_to_xmlschema$/, 'runs sql text'],
  [/^ts_stat$/, 'runs sql text'],
  [/^dblink/, 'reaches other servers'],
  [/^postgres_fdw/, 'reaches other servers'],
  [
    /^pg_(read_file|read_binary_file|ls_dir|stat_file|ls_\w+dir|file_write|file_read|file_rename|file_unlink)$/,
    'reads or writes server files',
  ],
  [/^(lo_\w+|loread|lowrite|lo_import|lo_export)$/, 'uses large objects shared by all analysts'],
  [
    /^set_config$/,
    "changes settings the rewrite relies on (allowed only as a statement of its own with constant arguments, SELECT set_config('name', 'value', false), checked as SET is)",
  ],
  [/^pg_stat_get_(activity|backend_activity|backend_\w+)$/, "exposes other sessions' statements"],
  [/^pg_stat_statements/, "exposes other sessions' statements"],
  [/^pg_(cancel|terminate)_backend$/, 'acts on other analysts sessions'],
  [/^pg_(notify|listening_channels)$/, 'is a channel between analysts'],
  [
    /^pg_(reload_conf|rotate_logfile\w*|promote|switch_wal|create_restore_point|log_backend_memory_contexts|export_snapshot|import_system_collations)$/,
    'changes server state',
  ],
  [/^pg_logical_\w+$/, 'changes server state'],
  [/^pg_replication_\w+$/, 'changes server state'],
  [/^(current_query)$/, 'exposes the rewritten statement'],
  [
    /^pg_(prepared_statement|cursor)$/,
    "exposes the rewritten statements a connection holds, on a pooled one other analysts'",
  ],
  // The value of any sequence by oid, past the per-sequence check (relation-substitution.ts checkSequence).
  [
    /^pg_sequence_last_value$/,
    'shows sequence values, which count rows policies may hide (read a sequence by name: SELECT last_value FROM schema.sequence)',
  ],
];

export function checkFunction(schema: string | undefined, name: string, helperSchema: string): void {
  if (schema === helperSchema) {
    throw new GuardRefusal('helper_schema', `function "${schema}.${name}" is reserved for pgveil's rewrite`);
  }
  for (const [pattern, why] of REFUSED_FUNCTIONS) {
    if (pattern.test(name))
      throw new GuardRefusal('refused_function', `function "${name}" is not allowed through pgveil: it ${why}`);
  }
}

/** Catalog relations that hold column statistics, other sessions' statements or credentials. */
const REFUSED_CATALOGS = new Set([
  'pg_statistic',
  'pg_statistic_ext_data',
  'pg_stats',
  'pg_stats_ext',
  'pg_stats_ext_exprs',
  'pg_stat_activity',
  'pg_stat_statements',
  'pg_stat_statements_info',
  // The statements a connection holds, as pgveil rewrote them: on a pooled connection, other
  // analysts' (docs/pooling.md); on any, the rewrite itself, as current_query would show it.
  'pg_prepared_statements',
  'pg_cursors',
  // Large objects' contents; their metadata (oid, owner, ACL: what pg_dump lists) is readable like
  // pg_class, while the lo_* functions and function call messages that read contents are refused.
  'pg_largeobject',
  'pg_authid',
  'pg_shadow',
  'pg_user_mapping',
  'pg_user_mappings',
  'pg_file_settings',
  'pg_hba_file_rules',
  'pg_ident_file_mappings',
]);

/**
 * Catalog columns no one may read through pgveil in a catalog that is otherwise readable: the
 * catalog is read through a derived table without them, so naming one fails as a column that does
 * not exist (relation-substitution.ts). pg_subscription.subconninfo holds connection strings with
 * their passwords; PostgreSQL hides it from roles that are not superusers, and pgveil does not rely
 * on the service account never being one.
 */
export const HIDDEN_CATALOG_COLUMNS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['pg_subscription', new Set(['subconninfo'])],
]);

export function checkCatalogRelation(schema: string, name: string): void {
  if (name === 'pg_sequences') {
    throw new GuardRefusal(
      'refused_catalog',
      `relation "${schema}.${name}" is not allowed through pgveil: it shows every sequence's value, which counts rows policies may hide (read a sequence by name: SELECT last_value FROM schema.sequence)`,
    );
  }
  if (REFUSED_CATALOGS.has(name)) {
    throw new GuardRefusal(
      'refused_catalog',
      `relation "${schema}.${name}" is not allowed through pgveil: it exposes statistics, credentials or other sessions' statements`,
    );
  }
}

export const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema']);

export function describeStatement(kind: string): string {
  return kind
    .replace(/Stmt$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
}
