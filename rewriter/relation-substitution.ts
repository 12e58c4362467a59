/**
 * Walks one statement's AST and replaces every reference to a protected relation with a derived
 * table that applies the column masks and the row filter, under the reference's own alias. Every
 * relation it resolves is schema-qualified in the output, so a search_path upstream cannot redirect a
 * name. Names are resolved as PostgreSQL does: CTE scopes first (non-recursive CTEs see only earlier
 * siblings), then the schema given, or pg_catalog and the session's search_path.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ColumnAction, DecisionReason, DecisionResult, RelationDecider, RelationDecision } from '../policies';
import { isMoreRestrictive } from '../policies';
import type { CatalogRelation } from './catalog-types';
import type { RewriteContext } from './rewrite-types';
import type { A_Expr, Alias, RangeTableSample, RangeVar, SelectStmt, TypeName } from '@pgsql/types';
import {
  bodyOf,
  columnRef,
  constant,
  isKind,
  names,
  stringOf,
  type BodyOf,
  type NodeKind,
  type NodeOf,
  type PgNode,
  type TreeObject,
  isTreeObject,
} from './ast';
import { maskExpression } from './mask-expressions';
import { rowFilterExpression } from './row-filter';
import {
  checkCatalogRelation,
  checkFunction,
  GuardRefusal,
  HIDDEN_CATALOG_COLUMNS,
  SYSTEM_SCHEMAS,
} from './statement-guard';
import { BETWEEN_OPERATORS, FunctionAccess } from './function-access';
import { barrierSelect, passThroughSource, viewQuery, viewSubselect } from './view-expansion';
import { currentDatabaseRelation, QualifiedColumns } from './qualified-names';
import { treeDecision } from './partition-decisions';
import { relationTree } from './relation-trees';
import type { RelationEdit, SpliceEdit } from './splice';
import { relationRef } from './relation-refs';

interface Scope {
  readonly ctes: ReadonlySet<string>;
  readonly parent: Scope | undefined;
}

const hasCte = (scope: Scope | undefined, name: string): boolean =>
  !!scope && (scope.ctes.has(name) || hasCte(scope.parent, name));

/** Deeper ASTs are refused: nesting that deep is an attack on the walker, not a query. */
const MAX_AST_DEPTH = 1500;

const ALLOW: ColumnAction = { kind: 'allow' };

const COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);

/** Operator names as function-access.ts takes them, built once. */
const EQUALS: readonly string[] = Object.freeze(['=']);
const BETWEEN_OPERATOR_NAMES: ReadonlyArray<readonly string[]> = BETWEEN_OPERATORS.map((symbol) =>
  Object.freeze([symbol]),
);

interface Decided {
  readonly relation: CatalogRelation;
  readonly decision: RelationDecision;
  readonly protectedRelation: boolean;
}

/** Advisory locks held until the session ends (the _xact_ forms end with the transaction). */
const SESSION_LOCK = /^pg_(try_)?advisory_lock(_shared)?$/;

export class RelationSubstitution {
  readonly reasons: DecisionReason[] = [];
  readonly substituted: string[] = [];
  /** The statement takes a session-level advisory lock: it outlives the transaction (a pool must pin). */
  sessionLock = false;
  private readonly decided = new Map<number, Decided>();
  private readonly ownDecided = new Map<number, RelationDecision>();
  private readonly deniedColumns = new Set<string>();
  private readonly deniedAliases = new Set<string>();
  private readonly columnRefs: NodeOf<'ColumnRef'>[] = [];
  /** The selects a row filter applies in (derived tables, views' barrier selects). */
  private readonly filtered: SelectStmt[] = [];
  /** An analyst expression that is not provably leakproof runs somewhere in a qualifier. */
  private leakyQualifier = false;
  /** Derived tables built, so finish() can drop the columns the statement never names. */
  private readonly derivedTables: Array<{ readonly select: SelectStmt; readonly positional: boolean }> = [];
  /** Names a bare ColumnRef could use as a whole-row reference: relations, aliases, CTEs. */
  private readonly rowNames = new Set<string>();
  /** Column names a statement uses without a ColumnRef (JOIN ... USING). */
  private readonly usingNames = new Set<string>();
  /** NATURAL joins name columns implicitly: no derived table is narrowed. */
  private naturalJoin = false;

  // Both are swapped while a view's stored query is rewritten (expandView).
  private functions: FunctionAccess;
  private context: RewriteContext;
  /** Views being expanded around the current node. */
  private viewDepth = 0;
  /** Sub-selects standing for expanded views: TABLESAMPLE cannot apply to them. */
  private readonly expandedViews = new WeakSet<PgNode>();
  private readonly qualified: QualifiedColumns;
  /**
   * For each sub-select pgveil built (derived table, expanded view): the action already applied to
   * each of its columns.
   */
  private readonly reachingActions = new WeakMap<PgNode, (column: string) => ColumnAction>();
  /** What changed in the analyst's own text, for splice.ts; undefined once something changed that it cannot splice. */
  private edits: SpliceEdit[] | undefined = [];
  /** For each of columnRefs: written by the analyst (not in an expanded view's stored query). */
  private readonly columnRefWritten: boolean[] = [];

  /** The policy's decide() for this principal and purpose, remembering its answers where it can. */
  private readonly decider: RelationDecider;

  constructor(context: RewriteContext) {
    this.context = context;
    const { policies, principal } = context;
    this.decider =
      policies.decisionsFor?.(principal, principal.purpose) ??
      ((relation) => policies.decide(principal, relation, principal.purpose));
    this.functions = new FunctionAccess(context);
    this.qualified = new QualifiedColumns(context.dataProduct);
  }

  /**
   * The query node ({SelectStmt: ...}) with every protected relation substituted: a new tree where
   * anything changed (the analyst's nodes are never edited), completed by finish().
   */
  query(node: PgNode, scope?: Scope): PgNode {
    this.functions.checkImplicitCasts();
    return this.visitNode(node, scope);
  }

  /** Expressions outside a query (EXECUTE parameters) get the same treatment. */
  expression(node: PgNode): PgNode {
    this.functions.checkImplicitCasts();
    return this.visitNode(node, undefined);
  }

  /**
   * The changes to the analyst's text, once finish() has run: each rewritten FROM item and each
   * shortened column reference, with the parser's location. Undefined when the statement changed
   * in a way that is not a splice at a location (TABLESAMPLE moved into a derived table).
   */
  get spliceEdits(): readonly SpliceEdit[] | undefined {
    return this.edits;
  }

  /**
   * Applies what needs the whole statement (qualified column references, denied columns, the
   * fence) to the substituted statement `tree`, and returns it: column references that change are
   * new nodes, and so is every node on the way to them.
   */
  finish(tree: PgNode): PgNode {
    const shortened = new Map<object, PgNode>();
    for (let i = 0; i < this.columnRefs.length; i++) {
      const ref = this.columnRefs[i]!;
      const written = ref.ColumnRef.fields!;
      const fields = this.qualified.columnRef(written);
      if (fields === written) continue;
      const next = { ColumnRef: { ...ref.ColumnRef, fields: [...fields] } };
      shortened.set(ref, next);
      this.columnRefs[i] = next;
      const parts = written.map((f) => (isKind(f, 'A_Star') ? '*' : String(stringOf(f))));
      if (this.columnRefWritten[i])
        this.edit({
          kind: 'column',
          location: ref.ColumnRef.location ?? -1,
          fields: parts,
          dropped: written.length - fields.length,
        });
    }
    if (this.deniedColumns.size > 0) {
      for (const ref of this.columnRefs) {
        const fields = ref.ColumnRef.fields!;
        const last = fields[fields.length - 1];
        if (isKind(last, 'A_Star'))
          throw new GuardRefusal('denied_column', 'statement expands "*" over a relation with a denied column');
        const name = stringOf(last);
        if (name && this.deniedColumns.has(name))
          throw new GuardRefusal('denied_column', `column "${name}" may not be referenced`);
        if (name && fields.length === 1 && this.deniedAliases.has(name)) {
          throw new GuardRefusal('denied_column', `whole-row reference "${name}" includes a denied column`);
        }
      }
    }
    if (this.leakyQualifier) {
      // OFFSET 0 keeps PostgreSQL from pulling the derived table up, so its row filter runs first.
      // (The selects are the derived tables pgveil built, or its copies of views' stored queries.)
      for (const select of this.filtered) select.limitOffset = constant(0);
    }
    this.narrowDerivedTables();
    return shortened.size > 0 ? replaced(tree, shortened) : tree;
  }

  /**
   * A derived table keeps only the columns the statement can name: masks of unused columns cost
   * PostgreSQL parse and planning time on every statement. Only names: a column named anywhere in
   * the statement stays in every derived table, so no reference can bind elsewhere. `*`, whole-row
   * references, NATURAL joins and column alias lists need every column and keep them.
   */
  private narrowDerivedTables(): void {
    if (this.naturalJoin) return;
    const named = new Set(this.usingNames);
    for (const ref of this.columnRefs) {
      const fields = ref.ColumnRef.fields!;
      const name = stringOf(fields[fields.length - 1]);
      if (!name || (fields.length === 1 && this.rowNames.has(name))) return;
      named.add(name);
    }
    for (const { select, positional } of this.derivedTables) {
      if (positional) continue;
      const targets = select.targetList!;
      const kept = targets.filter((t) => named.has(bodyOf(t, 'ResTarget')!.name!));
      select.targetList = kept.length > 0 ? kept : targets.slice(0, 1);
    }
  }

  get touchedProtected(): boolean {
    return this.substituted.length > 0;
  }

  private depth = 0;

  private visit(value: unknown, scope: Scope | undefined): unknown {
    if (++this.depth > MAX_AST_DEPTH)
      throw new GuardRefusal('ast_depth', `statement nesting exceeds ${MAX_AST_DEPTH} levels`, '54001');
    // One frame per level with visitFields: the walk's own recursion, inlined, so that
    // MAX_AST_DEPTH levels fit the stack a Node.js process gives a socket handler.
    try {
      if (Array.isArray(value)) {
        // Array.isArray says any[]: the items are read as unknown.
        const list: readonly unknown[] = value;
        let copy: unknown[] | undefined;
        for (let i = 0; i < list.length; i++) {
          if (!isObject(list[i])) continue;
          const next = this.visit(list[i], scope);
          if (next !== list[i]) (copy ??= [...list])[i] = next;
        }
        return copy ?? list;
      }
      if (!isTreeObject(value)) return value;
      const node = value;
      const kind = wrapperKind(node);
      // Nodes are `{ Kind: {...} }`, but some fields hold a node's body directly (a set operation's
      // larg/rarg, aliases): walk those as plain objects, never skip them.
      if (kind === undefined) return isSelectBody(node) ? this.selectStmt(node, scope) : this.visitFields(node, scope);
      // wrapperKind found the node's one key, holding an object: the node's fields.
      const body = node[kind] as TreeObject;
      switch (kind) {
        case 'SelectStmt': {
          const next = this.selectStmt(fieldsOf(body, 'SelectStmt'), scope);
          return next === body ? node : { SelectStmt: next };
        }
        case 'RangeVar': {
          const rv = fieldsOf(body, 'RangeVar');
          this.rowNames.add(rv.relname!);
          if (rv.alias) this.rowNames.add(rv.alias.aliasname!);
          this.qualified.fromItem(rv.alias?.aliasname ?? rv.relname);
          const written = this.viewDepth === 0 ? writtenRelation(rv) : undefined;
          const result = this.rangeVar(rv, scope);
          const kept = bodyOf(result, 'RangeVar');
          if (written && (!kept || !sameNames(written.parts, kept)))
            this.edit({
              kind: 'relation',
              location: written.location,
              parts: written.parts,
              only: written.only,
              alias: written.alias,
              result,
            });
          return result;
        }
        case 'RangeTableSample':
          return this.tableSample(node, fieldsOf(body, 'RangeTableSample'), scope);
        case 'FuncCall': {
          const call = fieldsOf(body, 'FuncCall');
          const parts = names(call.funcname);
          checkFunction(
            parts.length > 1 ? parts[parts.length - 2] : undefined,
            parts[parts.length - 1] ?? '',
            this.context.helperSchema,
          );
          // An ordered-set aggregate's WITHIN GROUP (ORDER BY ...) expressions are arguments too.
          const withinGroup = call.agg_within_group ? (call.agg_order ?? []).length : 0;
          this.functions.call(parts, (call.args ?? []).length + withinGroup);
          if (SESSION_LOCK.test(parts[parts.length - 1] ?? '')) this.sessionLock = true;
          break;
        }
        case 'ColumnRef': {
          if (isKind(node, 'ColumnRef')) this.columnRefs.push(node);
          this.columnRefWritten.push(this.viewDepth === 0);
          const fields = fieldsOf(body, 'ColumnRef').fields!;
          const last = stringOf(fields[fields.length - 1]);
          if (fields.length > 1 && last !== undefined) this.functions.attribute(last);
          return node;
        }
        case 'A_Indirection':
          for (const step of fieldsOf(body, 'A_Indirection').indirection ?? []) {
            const name = stringOf(step);
            if (name !== undefined) this.functions.attribute(name);
          }
          break;
        case 'A_Expr':
          this.operatorsOf(fieldsOf(body, 'A_Expr'));
          break;
        case 'SubLink': {
          const link = fieldsOf(body, 'SubLink');
          if (link.operName) this.functions.operator(names(link.operName), false);
          else if (link.subLinkType === 'ANY_SUBLINK') this.functions.operator(EQUALS, false);
          break;
        }
        case 'CaseExpr':
          if (fieldsOf(body, 'CaseExpr').arg) this.functions.operator(EQUALS, false);
          break;
        case 'SortBy': {
          const useOp = fieldsOf(body, 'SortBy').useOp;
          if (useOp) this.functions.operator(names(useOp), false);
          break;
        }
        case 'TypeCast':
          this.functions.cast(typeNameOf(fieldsOf(body, 'TypeCast').typeName));
          break;
        // SQL/JSON coerces its result to the RETURNING type (a JSON_TABLE column to its type) with casts.
        case 'JsonFuncExpr':
        case 'JsonTableColumn':
        case 'JsonObjectConstructor':
        case 'JsonArrayConstructor':
        case 'JsonArrayQueryConstructor':
        case 'JsonSerializeExpr':
        case 'JsonObjectAgg':
        case 'JsonArrayAgg': {
          // An aggregate's output sits in its `constructor` field (an own property, not Object's).
          const aggregate = Object.hasOwn(body, 'constructor') ? body['constructor'] : undefined;
          const target = field(body, 'typeName') ?? field(field(body, 'output'), 'typeName');
          const returning = target ?? field(field(aggregate, 'output'), 'typeName');
          if (returning) this.functions.cast(typeNameOf(returning));
          break;
        }
        case 'JoinExpr': {
          const join = fieldsOf(body, 'JoinExpr');
          if (join.quals && !isLeakproof(join.quals)) this.leakyQualifier = true;
          if (join.isNatural || join.usingClause) this.functions.operator(EQUALS, false);
          if (join.isNatural) this.naturalJoin = true;
          for (const name of names(join.usingClause)) this.usingNames.add(name);
          this.fromItemAlias(join.alias);
          break;
        }
        case 'RangeSubselect':
        case 'RangeFunction':
        case 'RangeTableFunc':
        case 'JsonTable':
          // Each of these kinds has its alias in the same field.
          this.fromItemAlias((body as { readonly alias?: Alias }).alias);
          break;
        case 'CommonTableExpr':
          this.rowNames.add(fieldsOf(body, 'CommonTableExpr').ctename!);
          break;
        case 'InsertStmt':
        case 'UpdateStmt':
        case 'DeleteStmt':
        case 'MergeStmt':
          throw new GuardRefusal('data_modification', 'data-modifying statements are not allowed through pgveil');
      }
      const next = this.visitFields(body, scope);
      return next === body ? node : { [kind]: next };
    } finally {
      this.depth--;
    }
  }

  /** A node, walked: the walk gives back a node of the kind it was given (itself, or a new one). */
  private visitNode<T extends PgNode>(node: T, scope: Scope | undefined): PgNode {
    return this.visit(node, scope) as PgNode;
  }

  /** A FROM item's alias names the rows and qualifies the columns below it. */
  private fromItemAlias(alias: Alias | undefined): void {
    if (alias) this.rowNames.add(alias.aliasname!);
    this.qualified.fromItem(alias?.aliasname);
  }

  /**
   * `node` with each field that holds nodes visited: itself when none changed, else a copy (same
   * field order). Generic on purpose: every field of every node kind is read as `unknown`, so a
   * kind this code does not know still has its fields walked.
   */
  private visitFields<T extends object>(node: T, scope: Scope | undefined, skip?: string): T {
    let copy: Record<string, unknown> | undefined;
    const fields = node as TreeObject;
    // for-in: every enumerable key without allocating a list of them.
    for (const key in fields) {
      const value = fields[key];
      if (key === skip || !isObject(value)) continue;
      const next = this.visit(value, scope);
      if (next !== value) (copy ??= { ...fields })[key] = next;
    }
    return (copy as T | undefined) ?? node;
  }

  /** Records a change to the analyst's text; one without a location makes the statement printed whole. */
  private edit(edit: SpliceEdit): void {
    if (typeof edit.location !== 'number' || edit.location < 0) this.edits = undefined;
    else this.edits?.push(edit);
  }

  private selectStmt(select: SelectStmt, outer: Scope | undefined): SelectStmt {
    if (select.intoClause)
      throw new GuardRefusal('select_into', 'SELECT INTO creates a table and is not allowed through pgveil');
    if (select.lockingClause)
      throw new GuardRefusal('row_locking', 'row-locking clauses (FOR UPDATE/SHARE) are not allowed through pgveil');
    let scope = outer;
    const withClause = select.withClause;
    let nextWith = withClause;
    if (withClause) {
      const items = withClause.ctes!;
      const allNames = new Set(items.map((c) => bodyOf(c, 'CommonTableExpr')!.ctename!));
      const seen = new Set<string>();
      const nextItems = items.map((item) => {
        const cte = bodyOf(item, 'CommonTableExpr')!;
        // A recursive WITH makes every CTE visible in every body; otherwise only the earlier ones.
        const visible: Scope = { ctes: withClause.recursive ? allNames : new Set(seen), parent: outer };
        const inner = cte.ctequery;
        if (!isKind(inner, 'SelectStmt'))
          throw new GuardRefusal(
            'data_modification',
            'data-modifying statements in WITH are not allowed through pgveil',
          );
        const query = this.visitNode(inner, visible);
        seen.add(cte.ctename!);
        return query === inner ? item : { CommonTableExpr: { ...cte, ctequery: query } };
      });
      if (nextItems.some((item, i) => item !== items[i])) nextWith = { ...withClause, ctes: nextItems };
      scope = { ctes: allNames, parent: outer };
    }
    for (const clause of ['whereClause', 'havingClause'] as const) {
      if (select[clause] && !isLeakproof(select[clause])) this.leakyQualifier = true;
    }
    const next = this.visitFields(select, scope, 'withClause');
    if (nextWith === withClause) return next;
    return { ...next, withClause: nextWith };
  }

  /** A sample of a protected relation samples the table inside its derived table (a sub-query cannot be sampled). */
  private tableSample(node: TreeObject, body: RangeTableSample, scope: Scope | undefined): unknown {
    // The sample moves into the derived table: not a change at one place of the analyst's text.
    this.edits = undefined;
    // The method is a handler function looked up by name, taking one argument.
    this.functions.call(names(body.method), 1);
    const rest = this.visitFields(body, scope, 'relation');
    const relation = this.visitNode(body.relation!, scope);
    if (this.expandedViews.has(relation))
      throw new GuardRefusal(
        'statement_class',
        'TABLESAMPLE clause can only be applied to tables and materialized views',
        '42809',
      );
    const derived = bodyOf(relation, 'RangeSubselect')?.subquery;
    if (!derived)
      return rest === body && relation === body.relation ? node : { RangeTableSample: { ...rest, relation } };
    // The derived table is pgveil's own, just built: the sample goes inside it.
    const select = bodyOf(derived, 'SelectStmt')!;
    select.fromClause = [{ RangeTableSample: { ...rest, relation: select.fromClause![0] } }];
    return relation;
  }

  private rangeVar(written: RangeVar, scope: Scope | undefined): PgNode {
    const name = written.relname!;
    if (!written.schemaname && !written.catalogname && hasCte(scope, name)) return { RangeVar: written };
    currentDatabaseRelation(written, this.context.dataProduct);
    const relation = this.resolve(written.schemaname, name);
    // A new node, its fields in libpg-query's order (catalog, schema, name, ...): the catalog part
    // is gone (currentDatabaseRelation), the schema is the one resolved.
    const { catalogname: _catalog, schemaname: _schema, ...rest } = written;
    const rv: RangeVar = { schemaname: relation.schema, ...rest };
    if (SYSTEM_SCHEMAS.has(relation.schema)) {
      checkCatalogRelation(relation.schema, relation.name);
      const hidden = relation.schema === 'pg_catalog' ? HIDDEN_CATALOG_COLUMNS.get(relation.name) : undefined;
      return hidden ? this.catalogWithout(rv, relation, hidden) : { RangeVar: rv };
    }
    if (relation.schema === this.context.helperSchema)
      throw new GuardRefusal('helper_schema', `relation "${relation.schema}.${name}" is reserved for pgveil`);
    this.functions.relation(relation);
    if (relation.kind === 'S') {
      this.checkSequence(relation);
      return { RangeVar: rv };
    }
    if (relation.kind === 'v' && this.readsProtected(relation)) return this.expandView(rv, relation);
    const decided = this.decide(relation);
    if (!decided.protectedRelation) return { RangeVar: rv };
    return this.derivedTable(rv, decided);
  }

  /**
   * Does reading this view read a protected relation, or a view with tags of its own, through any
   * of its views? Then it is expanded (view-expansion.ts): read as it is, it would read them with
   * its owner's rights, past every mask.
   */
  private readsProtected(view: CatalogRelation, seen: Set<number> = new Set()): boolean {
    seen.add(view.oid);
    for (const dependency of view.dependsOn) {
      const base = this.context.catalog.relationByOid(dependency);
      if (!base || seen.has(dependency)) continue;
      if (SYSTEM_SCHEMAS.has(base.schema)) {
        // The guard on statistics and credentials holds inside a view too.
        checkCatalogRelation(base.schema, base.name);
        // Read as it is, the view would read the hidden columns with its owner's rights.
        if (base.schema === 'pg_catalog' && HIDDEN_CATALOG_COLUMNS.has(base.name)) return true;
        continue;
      }
      if (base.kind === 'S') {
        // Expanded, the view's read of the sequence meets checkSequence.
        if (this.sequenceWithheld(base)) return true;
        continue;
      }
      if (this.decide(base).protectedRelation || (base.kind === 'v' && this.readsProtected(base, seen))) return true;
    }
    return false;
  }

  /**
   * The view's stored query, rewritten like the analyst's own (its names bound as PostgreSQL bound
   * them: an empty search_path, none of the analyst's CTEs), as a sub-select under the reference's
   * alias; the view's own tags, if any, apply on top.
   */
  private expandView(rv: RangeVar, relation: CatalogRelation): PgNode {
    const query = viewQuery(relation, this.viewDepth);
    const outer = { context: this.context, functions: this.functions };
    this.context = { ...outer.context, searchPath: [] };
    this.functions = new FunctionAccess(this.context);
    this.viewDepth++;
    let expandedQuery: PgNode;
    try {
      expandedQuery = this.visitNode(query, undefined);
    } finally {
      this.viewDepth--;
      this.context = outer.context;
      this.functions = outer.functions;
    }
    const barrier = barrierSelect(relation, expandedQuery);
    if (barrier) this.filtered.push(barrier);
    const decided = this.viewTags(relation, expandedQuery);
    const alias = rv.alias;
    let expanded: PgNode;
    if (decided.protectedRelation) {
      // The view's own decision masks the view's columns as the view names them.
      const inner = viewSubselect(expandedQuery, relation, undefined);
      this.reachingActions.set(inner, (column) =>
        this.passedThrough(
          expandedQuery,
          relation.columns.findIndex((c) => c.name === column),
        ),
      );
      expanded = this.derivedTable(rv, decided, inner);
    } else {
      const subselect = viewSubselect(expandedQuery, relation, alias);
      expanded = subselect;
      const names = subselect.RangeSubselect.alias!.colnames!.map((n) => stringOf(n)!);
      this.reachingActions.set(expanded, (column) => this.passedThrough(expandedQuery, names.indexOf(column)));
    }
    this.expandedViews.add(expanded);
    const qualified = `${relation.schema}.${relation.name}`;
    if (!this.substituted.includes(qualified)) this.substituted.push(qualified);
    return expanded;
  }

  /**
   * The view's own decision, less the column actions its stored query already applied: a view
   * column that shows a base column unchanged, whose base rule is the same action or a more
   * restrictive one, is not transformed again (a keyed hash hashed twice would no longer join with
   * the base's hash, a mask of a mask says nothing new). Any other tagged view column gets the
   * view's action on the value the view computes from masked inputs (docs/policies.md).
   */
  private viewTags(relation: CatalogRelation, query: PgNode): Decided {
    const decided = this.decide(relation);
    if (!decided.protectedRelation) return decided;
    const columns = { ...decided.decision.columns };
    relation.columns.forEach((column, i) => {
      const own = columns[column.name];
      if (!own || own.action.kind === 'allow' || own.action.kind === 'deny') return;
      const reached = this.passedThrough(query, i);
      if (isMoreRestrictive(reached, own.action) || isDeepStrictEqual(reached, own.action))
        columns[column.name] = { action: ALLOW, rules: own.rules };
    });
    const decision = { ...decided.decision, columns };
    const protectedRelation =
      decision.access === 'deny' ||
      decision.rows.kind !== 'all' ||
      Object.values(columns).some((c) => c.action.kind !== 'allow');
    return { relation, decision, protectedRelation };
  }

  /** The action already applied to what the view's column at `index` shows (allow when it computes it). */
  private passedThrough(query: PgNode, index: number): ColumnAction {
    const source = index < 0 ? undefined : passThroughSource(query, index);
    const reaching = source ? this.reachingActions.get(source.item) : undefined;
    return (source && reaching?.(source.column)) ?? ALLOW;
  }

  /**
   * A sequence's value (`SELECT last_value, is_called FROM s`, what pg_dump reads) counts the rows
   * of the columns it numbers, hidden ones included, and bounds their values. It is read as it is
   * unless one of those columns is protected for this principal: a row filter or denial on its
   * relation (the value tells how many rows were added beyond those shown, and the newest hidden
   * row's number), or a mask on the column itself (the value bounds what the mask hides). A mask on
   * other columns hides nothing the value tells. docs/pg-dump.md.
   */
  private checkSequence(sequence: CatalogRelation): void {
    const withheld = this.sequenceWithheld(sequence);
    if (!withheld) return;
    const name = `${sequence.schema}.${sequence.name}`;
    throw new GuardRefusal(
      'sequence_of_protected',
      `sequence "${name}" numbers column "${withheld.column}" of "${withheld.relation}", ${withheld.why} for you, so its value is withheld (pg_dump: --exclude-table-data=${name})`,
    );
  }

  /** Why this principal may not read the sequence's value, or undefined when it may. */
  private sequenceWithheld(sequence: CatalogRelation): { relation: string; column: string; why: string } | undefined {
    for (const { relation: oid, column } of sequence.numbers ?? []) {
      const base = this.context.catalog.relationByOid(oid);
      // A relation outside the catalog (a temporary table's) cannot be decided: withheld.
      if (!base) return { relation: `oid ${oid}`, column, why: 'which pgveil does not know' };
      const relation = `${base.schema}.${base.name}`;
      const { decision } = this.decide(base);
      if (decision.access === 'deny') return { relation, column, why: 'which is denied' };
      if (decision.rows.kind !== 'all') return { relation, column, why: 'whose rows are filtered' };
      const action = decision.columns[column]?.action.kind ?? 'allow';
      if (action !== 'allow')
        return {
          relation,
          column,
          why: `whose values are ${action === 'deny' ? 'denied' : `transformed (${action})`}`,
        };
    }
    return undefined;
  }

  private resolve(schema: string | undefined, name: string): CatalogRelation {
    const { catalog, searchPath } = this.context;
    const found = (s: string): CatalogRelation | undefined =>
      s === '$user' || s.startsWith('pg_temp') ? undefined : catalog.relation(s, name);
    if (schema) {
      const relation = found(schema);
      if (relation) return relation;
    } else {
      // pg_catalog first unless the path places it.
      const relation = searchPath.includes('pg_catalog') ? undefined : found('pg_catalog');
      if (relation) return relation;
      for (const s of searchPath) {
        const onPath = found(s);
        if (onPath) return onPath;
      }
    }
    const shown = schema ? `${schema}.${name}` : name;
    throw new GuardRefusal('unknown_relation', `relation "${shown}" does not exist`, '42P01');
  }

  /**
   * One decision per relation per statement. A view is decided by its own columns' tags (what it
   * reads is protected by expanding it); a materialized view is a stored copy, protected by its own
   * columns' tags only; a relation in a partition or inheritance tree by the decisions of its tree
   * (partition-decisions.ts).
   */
  private decide(relation: CatalogRelation): Decided {
    const memo = this.decided.get(relation.oid);
    if (memo) return memo;
    const tree = relationTree(this.context.catalog, relation);
    const own = this.ownDecision(relation);
    // treeDecision gives `own` itself for a relation outside any tree.
    const decision =
      tree.ancestors.length === 0 && tree.descendants.length === 0
        ? own
        : treeDecision(
            own,
            tree.ancestors.map((ancestor) => this.ownDecision(ancestor)),
            tree.descendants.map(({ relation: descendant, tableoids }) => ({
              decision: this.ownDecision(descendant),
              tableoids,
            })),
          );
    const protectedRelation =
      decision.access === 'deny' || decision.rows.kind !== 'all' || transformsAnyColumn(decision);
    const decided = { relation, decision, protectedRelation };
    this.decided.set(relation.oid, decided);
    return decided;
  }

  /** The policy's answer for this relation alone: its own columns' tags and the rules naming it. */
  private ownDecision(relation: CatalogRelation): RelationDecision {
    const memo = this.ownDecided.get(relation.oid);
    if (memo) return memo;
    const result: DecisionResult = this.decider(relationRef(relation, this.context.dataProduct));
    if (result.errors.length > 0) {
      throw new GuardRefusal(
        'policy_error',
        `policy for relation "${relation.schema}.${relation.name}" could not be evaluated: ${result.errors.join('; ')}`,
      );
    }
    this.ownDecided.set(relation.oid, result.decision);
    this.reasons.push(...result.reasons);
    return result.decision;
  }

  /** A catalog with columns no one may read, as a derived table of its other columns. */
  private catalogWithout(rv: RangeVar, relation: CatalogRelation, hidden: ReadonlySet<string>): PgNode {
    const qualified = `${relation.schema}.${relation.name}`;
    // Positional names would bind to other columns than PostgreSQL's once one is left out.
    if (rv.alias?.colnames?.length) {
      throw new GuardRefusal(
        'hidden_catalog_column',
        `a column alias list over "${qualified}" is not supported through pgveil: name its columns`,
      );
    }
    const alias = rv.alias ?? { aliasname: relation.name };
    const targetList = relation.columns
      .filter((c) => !hidden.has(c.name))
      .map((c) => ({ ResTarget: { name: c.name, val: columnRef(c.name) } }));
    this.qualified.derivedTable(relation.schema, relation.name, rv.alias !== undefined);
    const select: SelectStmt = {
      targetList,
      fromClause: [
        { RangeVar: { schemaname: relation.schema, relname: relation.name, inh: rv.inh, relpersistence: 'p' } },
      ],
      limitOption: 'LIMIT_OPTION_DEFAULT',
      op: 'SETOP_NONE',
    };
    return { RangeSubselect: { subquery: { SelectStmt: select }, alias } };
  }

  /** `from` replaces the relation itself (an expanded view's sub-select). */
  private derivedTable(rv: RangeVar, { relation, decision }: Decided, from?: PgNode): PgNode {
    const qualified = `${relation.schema}.${relation.name}`;
    if (decision.access === 'deny')
      throw new GuardRefusal('relation_denied', `access to relation "${qualified}" is denied by policy`);
    const alias: Alias = rv.alias ?? { aliasname: relation.name };
    const targetList = relation.columns.map((column) => {
      const action = decision.columns[column.name]?.action ?? { kind: 'allow' as const };
      if (action.kind === 'deny') {
        this.deniedColumns.add(column.name);
        this.deniedAliases.add(alias.aliasname!);
      }
      return { ResTarget: { name: column.name, val: maskExpression(column, action, this.context.helperSchema) } };
    });
    const select: SelectStmt = {
      targetList,
      fromClause: [
        from ?? { RangeVar: { schemaname: relation.schema, relname: relation.name, inh: rv.inh, relpersistence: 'p' } },
      ],
      limitOption: 'LIMIT_OPTION_DEFAULT',
      op: 'SETOP_NONE',
    };
    if (decision.rows.kind === 'none') select.whereClause = constant(false);
    if (decision.rows.kind === 'filter') {
      select.whereClause = rowFilterExpression(decision.rows.predicate);
      this.filtered.push(select);
    }
    if (!this.substituted.includes(qualified)) this.substituted.push(qualified);
    this.qualified.derivedTable(relation.schema, relation.name, rv.alias !== undefined);
    this.derivedTables.push({ select, positional: Array.isArray(alias.colnames) && alias.colnames.length > 0 });
    const derived: PgNode = { RangeSubselect: { subquery: { SelectStmt: select }, alias } };
    // Under the alias's column names when the reader gave some, else the relation's.
    const names = relation.columns.map((c, i) => stringOf(alias.colnames?.[i]) ?? c.name);
    const below = from ? this.reachingActions.get(from) : undefined;
    this.reachingActions.set(derived, (name) => {
      const column = relation.columns[names.indexOf(name)];
      if (!column) return ALLOW;
      const applied = decision.columns[column.name]?.action ?? ALLOW;
      const reached = below?.(column.name) ?? ALLOW;
      return isMoreRestrictive(reached, applied) ? reached : applied;
    });
    return derived;
  }

  /** The operators an expression runs, as PostgreSQL looks them up by name. */
  private operatorsOf(expr: A_Expr): void {
    if (expr.kind!.includes('BETWEEN')) {
      for (const symbol of BETWEEN_OPERATOR_NAMES) this.functions.operator(symbol, false);
      return;
    }
    this.functions.operator(names(expr.name), expr.lexpr === undefined);
  }
}

/** `tree` with the nodes `by` maps replaced, and new copies of every node on the way to them. */
function replaced(tree: PgNode, by: ReadonlyMap<object, PgNode>): PgNode {
  const visit = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const swapped = by.get(value);
    if (swapped) return swapped;
    if (Array.isArray(value)) {
      const list: readonly unknown[] = value;
      let copy: unknown[] | undefined;
      list.forEach((item, i) => {
        const next = visit(item);
        if (next !== item) (copy ??= [...list])[i] = next;
      });
      return copy ?? list;
    }
    const fields = value as TreeObject;
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(fields)) {
      const item = fields[key];
      const next = visit(item);
      if (next !== item) (copy ??= { ...fields })[key] = next;
    }
    return copy ?? value;
  };
  // The walk gives back a tree of the kind it was given.
  return visit(tree) as PgNode;
}

/** A RangeVar as the analyst wrote it, before the substitution qualifies or replaces it. */
function writtenRelation(rv: RangeVar): Omit<RelationEdit, 'result'> {
  const alias = rv.alias;
  return {
    kind: 'relation',
    location: rv.location ?? -1,
    parts: [rv.catalogname, rv.schemaname, rv.relname].filter((p): p is string => typeof p === 'string'),
    // libpg-query leaves out inh when it is false: ONLY.
    only: rv.inh !== true,
    alias: alias ? { aliasname: alias.aliasname!, colnames: names(alias.colnames) } : undefined,
  };
}

/** kindOf() without the list of keys: the node's first key, or '' when it has none. */
function firstKey(node: object | undefined): string {
  for (const key in node) return key;
  return '';
}

/** Some column's action is not allow (without a list of the columns). */
function transformsAnyColumn(decision: RelationDecision): boolean {
  for (const name in decision.columns) if (decision.columns[name]!.action.kind !== 'allow') return true;
  return false;
}

/** Whether a RangeVar still has the name parts it was written with. */
function sameNames(parts: readonly string[], rv: RangeVar): boolean {
  let i = 0;
  if (typeof rv.catalogname === 'string' && parts[i++] !== rv.catalogname) return false;
  if (typeof rv.schemaname === 'string' && parts[i++] !== rv.schemaname) return false;
  if (typeof rv.relname === 'string' && parts[i++] !== rv.relname) return false;
  return i === parts.length;
}

/** The last name of a type as written: `pg_catalog.int4`, `text`, `public.money_t[]` give int4, text, money_t. */
function typeNameOf(typeName: TypeName | TreeObject | undefined): string {
  const list = typeName?.names;
  const parts = Array.isArray(list) ? list.map((n) => stringOf(n) ?? '') : [];
  return parts[parts.length - 1] ?? '';
}

/**
 * The fields of a node whose one key `wrapperKind` found to be `kind`: the one place the walk reads
 * a body by its kind's declared fields.
 */
function fieldsOf<K extends NodeKind>(body: TreeObject, _kind: K): BodyOf<K> {
  return body as BodyOf<K>;
}

/** A field of an object met in the walk, when it is an object itself (a node or a node's fields). */
function field(holder: unknown, name: string): TreeObject | undefined {
  const value = isTreeObject(holder) ? holder[name] : undefined;
  return isTreeObject(value) ? value : undefined;
}

/** Only objects and arrays hold nodes: leaves (names, flags, positions) are not visited. */
const isObject = (value: unknown): boolean => value !== null && typeof value === 'object';

/**
 * The kind of a wrapper node `{ Kind: {...} }` (one key, capitalized, holding an object that is
 * not a list), or undefined for anything else; without allocating the list of its keys.
 */
function wrapperKind(node: TreeObject): string | undefined {
  let kind: string | undefined;
  for (const key in node) {
    if (kind !== undefined) return undefined;
    kind = key;
  }
  if (kind === undefined) return undefined;
  const first = kind.charCodeAt(0);
  if (first < 65 || first > 90) return undefined;
  const body = node[kind];
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? kind : undefined;
}

/** A SelectStmt body met without its wrapper (UNION/INTERSECT/EXCEPT branches). */
function isSelectBody(node: TreeObject): node is TreeObject & SelectStmt {
  return 'op' in node && 'limitOption' in node;
}

/**
 * Leakproof enough to run before a row filter: comparisons and boolean logic over columns and
 * constants, which neither raise nor call user code. Anything else (casts of columns, LIKE,
 * arithmetic, functions, sub-queries) is treated as able to leak and fences the derived tables.
 */
function isLeakproof(node: PgNode | undefined): boolean {
  switch (firstKey(node)) {
    case 'ColumnRef':
      return !bodyOf(node, 'ColumnRef')!.fields!.some((f) => isKind(f, 'A_Star'));
    case 'A_Const':
    case 'ParamRef':
      return true;
    case 'BoolExpr':
      return bodyOf(node, 'BoolExpr')!.args!.every(isLeakproof);
    case 'NullTest':
      return isLeakproof(bodyOf(node, 'NullTest')!.arg);
    case 'BooleanTest':
      return isLeakproof(bodyOf(node, 'BooleanTest')!.arg);
    case 'TypeCast': {
      const arg = firstKey(bodyOf(node, 'TypeCast')!.arg);
      return arg === 'A_Const' || arg === 'ParamRef';
    }
    case 'A_Expr': {
      const expr = bodyOf(node, 'A_Expr')!;
      const operator = expr.name;
      const op = stringOf(operator?.[operator.length - 1]) ?? '';
      if (expr.kind === 'AEXPR_OP' && COMPARISONS.has(op)) return isLeakproof(expr.lexpr) && isLeakproof(expr.rexpr);
      if (expr.kind === 'AEXPR_IN') {
        const list = bodyOf(expr.rexpr, 'List')?.items ?? expr.rexpr;
        return isLeakproof(expr.lexpr) && Array.isArray(list) && list.every(isLeakproof);
      }
      return false;
    }
    default:
      return false;
  }
}
