/**
 * Which functions an analyst's statement may run. A function outside the system schemas runs with
 * the service account's rights, and pgveil cannot see its body: a plain SQL function that selects a
 * protected column returns raw values of rows the analyst may not see. So every call that can reach
 * one is refused unless the data product's `allowedFunctions` lists it: a call by name, an
 * operator, a cast, functional notation (`c.f` is `f(c)` when `c` has no column `f`), and a view
 * whose definition calls one.
 *
 * Resolution, and why it is conservative. pgveil does not type the statement, so it cannot pick the
 * overload PostgreSQL will pick. Instead it takes every overload that could be picked and requires
 * all of them to be allowed:
 * - a qualified call `s.f(...)` can only resolve in `s`: the overloads of `s.f` whose argument count
 *   fits (defaults and VARIADIC considered) must all be allowed, or `s.f` allowed with every overload;
 * - an unqualified call or operator can resolve in any schema of the effective search_path
 *   (pg_catalog first unless listed, `$user` as the service account, pg_temp never searched for
 *   functions and operators): every candidate outside the system schemas with a fitting argument
 *   count (operators: prefix or infix) must be allowed, whatever the argument types. A look-alike such
 *   as `public.lower(varchar)` could win over `pg_catalog.lower(text)` by an exact type match, so it
 *   is refused even where pg_catalog's would have won;
 * - an operator can run the functions of its commutator and negator too (the planner may swap them
 *   in), so all of them must be allowed;
 * - a cast `x::t`, `CAST(x AS t)`, `t 'literal'` or `t(x)` is checked by the target type's name in
 *   any schema, whatever the source type: every coercion into a type of that name that runs a user
 *   function (a cast's function, a domain CHECK that calls one, also through domains over it) must
 *   be allowed;
 * - a call that leaves arguments out runs the argument defaults in the caller's statement: what
 *   they call must be allowed too (for a function with a SQL-standard body pg_depend cannot tell
 *   its defaults from its body, so what the body calls is required as well);
 * - an implicit cast runs wherever PostgreSQL needs it, which pgveil cannot see without types: while
 *   the data product has one that runs a function not allowed, every query is refused.
 * A function or operator name that is neither in the system schemas nor among the user functions
 * pgveil loaded was created after its catalog snapshot (or does not exist): refused with 42883, as
 * pgveil cannot tell what it would run.
 */
import type { CatalogFunction, CatalogRelation } from './catalog-types';
import type { RewriteContext } from './rewrite-types';
import { AllowedFunctions } from './allowed-functions';
import { GuardRefusal, SYSTEM_SCHEMAS } from './statement-guard';

/** Operators PostgreSQL looks up by name where the statement spells none. */
export const BETWEEN_OPERATORS = ['>=', '<=', '<', '>'];

export class FunctionAccess {
  private readonly allowed: AllowedFunctions;
  /** Schemas an unqualified function or operator name is looked up in, system schemas left out. */
  private readonly lookupSchemas: ReadonlySet<string>;
  /** `$user` is on the path but the snapshot does not say who that is: any schema may be searched. */
  private readonly anySchema: boolean;

  constructor(private readonly context: RewriteContext) {
    this.allowed = new AllowedFunctions(context.policies.allowedFunctions?.(context.dataProduct) ?? []);
    const schemas = new Set<string>();
    let anySchema = false;
    for (const entry of context.searchPath) {
      if (entry === '$user') {
        if (context.catalog.sessionUser === undefined) anySchema = true;
        else schemas.add(context.catalog.sessionUser);
      } else if (!entry.startsWith('pg_temp') && !SYSTEM_SCHEMAS.has(entry)) schemas.add(entry);
    }
    this.lookupSchemas = schemas;
    this.anySchema = anySchema;
  }

  /** Once per query: implicit casts that run a function not allowed make every query unsafe. */
  checkImplicitCasts(): void {
    for (const cast of this.context.catalog.casts()) {
      if (cast.context !== 'i') continue;
      const fn = this.context.catalog.functionByOid(cast.function);
      if (!fn || !this.permitted(fn)) {
        throw this.refusal(
          `implicit cast to "${cast.targetSchema}.${cast.targetName}" runs function ${this.describe(fn, cast.function)} wherever PostgreSQL applies it, so no query is allowed through pgveil`,
          fn,
        );
      }
    }
  }

  /** A call `name(args)` (funcname as written, one to three parts). */
  call(parts: readonly string[], argCount: number): void {
    const name = parts[parts.length - 1] ?? '';
    const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
    if (parts.length > 2)
      throw new GuardRefusal('cross_database', `cross-database function reference "${parts.join('.')}" is not allowed`);
    if ((schema === undefined || SYSTEM_SCHEMAS.has(schema)) && runsSqlText(name, argCount)) {
      throw new GuardRefusal(
        'refused_function',
        `function "${name}" is not allowed through pgveil: with two arguments it runs its second as SQL text, a statement pgveil never sees`,
      );
    }
    if (schema !== undefined) {
      if (SYSTEM_SCHEMAS.has(schema)) return this.castStyle(name, argCount);
      if (schema === this.context.helperSchema)
        throw new GuardRefusal('helper_schema', `function "${schema}.${name}" is reserved for pgveil's rewrite`);
      const every = this.allowed.allowsEveryOverload(schema, name);
      const candidates = this.context.catalog
        .functionsNamed(name)
        .filter((f) => f.schema === schema && fits(f, argCount));
      if (!every && (candidates.length === 0 || candidates.some((f) => !this.permitted(f))))
        throw this.notAllowed(`${schema}.${name}`, undefined);
      for (const candidate of candidates) this.defaultsOf(candidate, argCount);
      return;
    }
    for (const candidate of this.candidates(name, argCount)) {
      if (!this.permitted(candidate)) throw this.notAllowed(`${candidate.schema}.${candidate.name}`, name);
      this.defaultsOf(candidate, argCount);
    }
    const system = this.context.catalog.systemNames;
    if (
      system &&
      !system.functions.has(name) &&
      this.context.catalog.functionsNamed(name).length === 0 &&
      this.context.catalog.castsTo(name).length === 0
    ) {
      throw this.unknown(`function "${name}"`);
    }
    // `text(x)` is a cast when no function of that name fits.
    this.castStyle(name, argCount);
  }

  /** `rel.name` / `(expr).name`: functional notation for `name(rel)` when rel has no such column. */
  attribute(name: string): void {
    for (const candidate of this.candidates(name, 1)) {
      if (!this.permitted(candidate)) throw this.notAllowed(`${candidate.schema}.${candidate.name}`, name);
    }
  }

  /** An operator as written (`=`, or `OPERATOR(s.=)` as two parts); prefix when it has no left operand. */
  operator(parts: readonly string[], prefix: boolean): void {
    const symbol = parts[parts.length - 1] ?? '';
    const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
    const kind = prefix ? 'l' : 'b';
    if (schema !== undefined && SYSTEM_SCHEMAS.has(schema)) return;
    if (schema === this.context.helperSchema)
      throw new GuardRefusal('helper_schema', `operator "${schema}.${symbol}" is reserved for pgveil's rewrite`);
    const candidates = this.context.catalog
      .operatorsNamed(symbol)
      .filter((o) => o.kind === kind && (schema !== undefined ? o.schema === schema : this.searched(o.schema)));
    const system = this.context.catalog.systemNames;
    if (schema === undefined && candidates.length === 0 && system && !system.operators.has(symbol))
      throw this.unknown(`operator "${symbol}"`);
    if (schema !== undefined && candidates.length === 0) {
      // OPERATOR(s.op) that pgveil's snapshot does not hold: it cannot tell what would run.
      throw new GuardRefusal(
        'function_not_allowed',
        `operator "${schema}.${symbol}" is not allowed through pgveil: it is not in pgveil's catalog snapshot of data product "${this.context.dataProduct}"`,
      );
    }
    for (const candidate of candidates) {
      for (const oid of candidate.functions) {
        const fn = this.context.catalog.functionByOid(oid);
        if (!fn || !this.permitted(fn)) {
          throw this.refusal(
            `operator "${candidate.schema}.${symbol}" runs function ${this.describe(fn, oid)}, which is not allowed through pgveil`,
            fn,
          );
        }
      }
    }
  }

  /**
   * A coercion to the type named `typeName` (its last name part). Array bounds do not matter: an
   * array is coerced element by element with the element's cast, and `_t` names the array of `t`.
   */
  cast(typeName: string): void {
    const targets = typeName.startsWith('_') ? [typeName, typeName.slice(1)] : [typeName];
    for (const cast of targets.flatMap((t) => this.context.catalog.castsTo(t))) {
      const fn = this.context.catalog.functionByOid(cast.function);
      if (!fn || !this.permitted(fn)) {
        throw this.refusal(
          `cast to "${cast.targetSchema}.${cast.targetName}" runs function ${this.describe(fn, cast.function)}, which is not allowed through pgveil`,
          fn,
        );
      }
    }
  }

  /** A view runs the functions its definition calls, and so do the views it reads. */
  relation(relation: CatalogRelation, seen: Set<number> = new Set()): void {
    if (seen.has(relation.oid) || SYSTEM_SCHEMAS.has(relation.schema)) return;
    seen.add(relation.oid);
    for (const oid of relation.calls ?? []) {
      const fn = this.context.catalog.functionByOid(oid);
      if (!fn || !this.permitted(fn)) {
        throw this.refusal(
          `relation "${relation.schema}.${relation.name}" calls function ${this.describe(fn, oid)}, which is not allowed through pgveil`,
          fn,
        );
      }
    }
    for (const dependency of relation.dependsOn) {
      const base = this.context.catalog.relationByOid(dependency);
      if (base) this.relation(base, seen);
    }
  }

  /** A call that leaves arguments out runs their default expressions, and whatever they call. */
  private defaultsOf(fn: CatalogFunction, argCount: number): void {
    if (argCount >= fn.argTypes.length) return;
    for (const oid of fn.defaultCalls ?? []) {
      const called = this.context.catalog.functionByOid(oid);
      if (!called || !this.permitted(called)) {
        throw this.refusal(
          `function "${fn.schema}.${fn.name}" called without all its arguments runs function ${this.describe(called, oid)} in its argument defaults, which is not allowed through pgveil`,
          called,
        );
      }
    }
  }

  private castStyle(name: string, argCount: number): void {
    if (argCount === 1) this.cast(name);
  }

  private searched(schema: string): boolean {
    return !SYSTEM_SCHEMAS.has(schema) && (this.anySchema || this.lookupSchemas.has(schema));
  }

  /** Every function an unqualified call with this many arguments could resolve to, system schemas left out. */
  private candidates(name: string, argCount: number): CatalogFunction[] {
    return this.context.catalog.functionsNamed(name).filter((f) => this.searched(f.schema) && fits(f, argCount));
  }

  private permitted(fn: CatalogFunction): boolean {
    return fn.schema !== this.context.helperSchema && this.allowed.allows(fn);
  }

  private describe(fn: CatalogFunction | undefined, oid: number): string {
    return fn
      ? `"${fn.schema}.${fn.name}(${fn.argTypes.join(', ')})"`
      : `with oid ${oid} (not in pgveil's catalog snapshot)`;
  }

  private refusal(what: string, fn: CatalogFunction | undefined): GuardRefusal {
    return new GuardRefusal(
      'function_not_allowed',
      `${what}: ${fn ? this.why(fn.schema) : 'pgveil cannot tell what it runs'}`,
    );
  }

  private why(schema: string): string {
    if (schema === this.context.helperSchema) return "the helper schema is reserved for pgveil's rewrite";
    return `it runs with the service account's rights and is not listed in allowedFunctions of data product "${this.context.dataProduct}"`;
  }

  /** Created after pgveil read the catalog (or misspelt): pgveil cannot tell what it would run. */
  private unknown(what: string): GuardRefusal {
    return new GuardRefusal(
      'unknown_function',
      `${what} is not in pgveil's catalog snapshot of data product "${this.context.dataProduct}": pgveil cannot tell what it would run`,
      '42883',
    );
  }

  private notAllowed(qualified: string, written: string | undefined): GuardRefusal {
    const schema = qualified.slice(0, qualified.lastIndexOf('.'));
    const candidate = written !== undefined ? ` (a candidate for "${written}" on the search_path)` : '';
    return new GuardRefusal(
      'function_not_allowed',
      `function "${qualified}"${candidate} is not allowed through pgveil: ${this.why(schema)}`,
    );
  }
}

/** Could a call with `argCount` arguments bind to `fn`? Named arguments count as arguments. */
function fits(fn: CatalogFunction, argCount: number): boolean {
  const total = fn.argTypes.length;
  const required = total - fn.defaults;
  // A VARIADIC parameter takes any number of arguments, also none when it has a default.
  if (fn.variadic) return argCount >= Math.max(0, required - 1);
  return argCount >= required && argCount <= total;
}

/**
 * System functions that run SQL text given as an argument by their argument count, where another
 * form of the same name does not: `ts_rewrite(query, 'SELECT target, substitute ...')` executes
 * that SELECT with the service account's rights and answers with what it read, while
 * `ts_rewrite(query, target, substitute)` runs none. (The names that run SQL text in every form,
 * `query_to_xml`, `ts_stat`..., are refused by name in statement-guard.ts.)
 */
function runsSqlText(name: string, argCount: number): boolean {
  return name === 'ts_rewrite' && argCount === 2;
}
