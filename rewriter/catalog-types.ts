/**
 * The upstream catalog as the rewriter sees it: an immutable snapshot, loaded and refreshed by
 * catalog-loader.ts. Names are stored exactly as PostgreSQL stores them (already case-folded).
 */
export type RelationKind = 'r' | 'p' | 'v' | 'm' | 'f' | 'S' | 'c' | 't' | 'i' | 'I';

export interface CatalogColumn {
  readonly name: string;
  /** format_type(atttypid, atttypmod) */
  readonly type: string;
  readonly typeOid: number;
  readonly comment?: string;
}

export interface CatalogRelation {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  readonly kind: RelationKind;
  /** Ordered as attnum, dropped columns excluded. */
  readonly columns: readonly CatalogColumn[];
  /** Inheritance / partition parents (oids). */
  readonly parents: readonly number[];
  /** For views and materialized views: the relations their definition reads (oids). */
  readonly dependsOn: readonly number[];
  /**
   * For views: the functions outside pg_catalog their definition calls, directly or as the code of
   * an operator (pg_proc oids). Reading the view runs them.
   */
  readonly calls?: readonly number[];
  /** For views and materialized views outside the system schemas: the stored definition. */
  readonly view?: CatalogView;
  /**
   * For sequences: the columns whose values it numbers (the column owning it, an identity column,
   * a column whose default calls nextval on it). Its value counts their rows.
   */
  readonly numbers?: ReadonlyArray<{ readonly relation: number; readonly column: string }>;
}

/**
 * A view's or materialized view's stored query, as PostgreSQL bound it when it was created. The
 * text is pg_get_viewdef() printed under an empty search_path, so every name outside pg_catalog is
 * schema-qualified and the query means the same whatever an analyst's search_path is.
 */
export interface CatalogView {
  readonly definition: string;
  /** reloptions security_barrier: the view's own conditions run before any of the reader's. */
  readonly securityBarrier: boolean;
  /** reloptions security_invoker (PostgreSQL 15+): base relations are checked as the reader. */
  readonly securityInvoker: boolean;
  /** WITH [LOCAL | CASCADED] CHECK OPTION: constrains writes through the view only. */
  readonly checkOption?: 'local' | 'cascaded';
  /** Columns the query reads anywhere (pg_depend of its SELECT rule): relation oid and column name. */
  readonly columnsRead: ReadonlyArray<{ readonly relation: number; readonly column: string }>;
}

/** A function outside the system schemas (pg_proc), which pgveil cannot see into. */
export interface CatalogFunction {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  /**
   * Input argument types as format_type prints them, a type outside pg_catalog always
   * schema-qualified (`integer`, `character varying`, `public.money_t`). OUT arguments excluded.
   */
  readonly argTypes: readonly string[];
  /** The last input argument is VARIADIC. */
  readonly variadic: boolean;
  /** How many trailing input arguments have defaults. */
  readonly defaults: number;
  /**
   * Functions outside the system schemas (pg_proc oids, directly or as an operator's code) that its
   * argument defaults call: a call that leaves out an argument runs them in the caller's statement.
   * From pg_depend, which for a function with a SQL-standard body lists what the body calls too.
   */
  readonly defaultCalls?: readonly number[];
}

/** An operator outside pg_catalog (pg_operator) and the function behind it. */
export interface CatalogOperator {
  readonly schema: string;
  readonly symbol: string;
  /** 'b' infix, 'l' prefix. */
  readonly kind: 'b' | 'l';
  /**
   * The functions outside pg_catalog it can run (pg_proc oids): its own oprcode, and those of its
   * commutator and negator, which the planner may put in its place (`NOT a < b` as `a >= b`).
   */
  readonly functions: readonly number[];
}

/**
 * A coercion into a type that runs a function outside pg_catalog: a cast (pg_cast.castfunc) or a
 * CHECK constraint of a domain that calls one.
 */
export interface CatalogCast {
  /** pg_type.typname of the target (the type or domain the value is coerced to), and its schema. */
  readonly targetSchema: string;
  readonly targetName: string;
  /** pg_proc oid of the function that runs. */
  readonly function: number;
  /** 'e' explicit only, 'a' in assignments, 'i' implicitly anywhere. */
  readonly context: 'e' | 'a' | 'i';
}

export interface CatalogSnapshot {
  /** Increases on every refresh; part of the rewrite cache key. */
  readonly version: number;
  relation(schema: string, name: string): CatalogRelation | undefined;
  relationByOid(oid: number): CatalogRelation | undefined;
  /**
   * Every relation that holds or shows rows (sequences left out: relation() and relationByOid()
   * find them), for tools that list what a data product holds (access matrix, lint).
   */
  all(): readonly CatalogRelation[];
  /** Functions outside pg_catalog and information_schema with this name, in any schema. */
  functionsNamed(name: string): readonly CatalogFunction[];
  functionByOid(oid: number): CatalogFunction | undefined;
  /** Operators outside pg_catalog with this symbol, in any schema. */
  operatorsNamed(symbol: string): readonly CatalogOperator[];
  /** Coercions running user functions, by target type name (pg_type.typname, any schema). */
  castsTo(typeName: string): readonly CatalogCast[];
  /** Every coercion running a user function. */
  casts(): readonly CatalogCast[];
  /** The role the catalog was read as (the service account): what `$user` in a search_path means. */
  readonly sessionUser?: string;
  /**
   * Names of the functions and operator symbols in pg_catalog and information_schema; undefined
   * when the snapshot was built by hand without them. With them, a name that is neither there nor
   * among the user functions was created after the snapshot, and pgveil cannot tell what it runs.
   */
  readonly systemNames?: { readonly functions: ReadonlySet<string>; readonly operators: ReadonlySet<string> };
}

/** The function-related part of a snapshot; absent in snapshots built by hand (no user functions). */
export interface CatalogRoutines {
  readonly functions: readonly CatalogFunction[];
  readonly operators: readonly CatalogOperator[];
  readonly casts: readonly CatalogCast[];
  readonly sessionUser?: string;
  readonly systemFunctions?: readonly string[];
  readonly systemOperators?: readonly string[];
}
