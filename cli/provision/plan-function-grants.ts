/**
 * Functions in the data product's schemas run with the rights of whoever calls them (or of their
 * owner), and pgveil cannot see their bodies: upstream, only the functions the policy lists in
 * `dataProducts[].allowedFunctions` stay executable by the service account. Every other one loses
 * EXECUTE for PUBLIC (which every role holds, and which PostgreSQL grants on every new function) and
 * for the service account. This is a second line behind pgveil's own refusal of such calls.
 */
import type { Client } from 'pg';
import { quoteIdent } from '../../rewriter';
import type { SqlStep } from '../../rewriter';

export interface UpstreamFunction {
  readonly schema: string;
  readonly name: string;
  /** Input argument types as format_type prints them (search_path = pg_catalog). */
  readonly argTypes: readonly string[];
  readonly kind: 'f' | 'a' | 'w' | 'p';
  /** `schema.name(argtypes)`, quoted as regprocedure prints it. */
  readonly signature: string;
  readonly executable: boolean;
  readonly owner: string;
}

/** `schema.name` matches every overload; `schema.name(type, ...)` one of them. */
export function isAllowedFunction(
  allowed: readonly string[],
  fn: Pick<UpstreamFunction, 'schema' | 'name' | 'argTypes'>,
): boolean {
  return allowed.some((spec) => {
    const open = spec.indexOf('(');
    const base = open < 0 ? spec : spec.slice(0, open);
    if (base !== `${fn.schema}.${fn.name}`) return false;
    if (open < 0) return true;
    const inside = spec.slice(open + 1, spec.lastIndexOf(')')).trim();
    const types = inside === '' ? [] : inside.split(',').map((t) => t.trim().replace(/\s+/g, ' '));
    return types.length === fn.argTypes.length && types.every((t, i) => t === fn.argTypes[i]);
  });
}

/** The functions of `schemas`, with whether `who` (a role name, or 'public') may execute them. */
export async function upstreamFunctions(
  client: Client,
  who: string,
  schemas: readonly string[],
): Promise<UpstreamFunction[]> {
  const rows = await client.query<{
    schema: string;
    name: string;
    kind: UpstreamFunction['kind'];
    arg_types: string[];
    signature: string;
    executable: boolean;
    owner: string;
  }>(
    `SELECT n.nspname AS schema, p.proname AS name, p.prokind AS kind,
            COALESCE((SELECT pg_catalog.array_agg(pg_catalog.format_type(t.oid, NULL) ORDER BY t.ord)
                      FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) WITH ORDINALITY AS t(oid, ord)), '{}') AS arg_types,
            p.oid::pg_catalog.regprocedure::pg_catalog.text AS signature,
            pg_catalog.has_function_privilege($1, p.oid, 'EXECUTE') AS executable,
            pg_catalog.pg_get_userbyid(p.proowner) AS owner
     FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = ANY ($2) ORDER BY n.nspname, p.proname, p.oid`,
    [who, schemas],
  );
  return rows.rows.map((r) => ({
    schema: r.schema,
    name: r.name,
    kind: r.kind,
    argTypes: r.arg_types,
    signature: r.signature,
    executable: r.executable,
    owner: r.owner,
  }));
}

export interface FunctionPlan {
  readonly steps: SqlStep[];
  /** Entries of allowedFunctions that match no function upstream (likely a typo). */
  readonly unmatched: string[];
  /** Functions the service account owns: an owner can always execute them, so revoking is useless. */
  readonly ownedByService: string[];
}

export async function planFunctionGrants(
  client: Client,
  role: string,
  roleExists: boolean,
  schemas: readonly string[],
  allowed: readonly string[],
): Promise<FunctionPlan> {
  const functions = await upstreamFunctions(client, roleExists ? role : 'public', schemas);
  const steps: SqlStep[] = [];
  const keyword = (f: UpstreamFunction): string => (f.kind === 'p' ? 'PROCEDURE' : 'FUNCTION');
  for (const f of functions) {
    const isAllowed = isAllowedFunction(allowed, f);
    if (isAllowed && (!roleExists || !f.executable)) {
      steps.push({
        why: `allowed by the policy: ${f.signature}`,
        sql: `GRANT EXECUTE ON ${keyword(f)} ${f.signature} TO ${quoteIdent(role)}`,
      });
    } else if (!isAllowed && f.executable && f.owner !== role) {
      steps.push({
        why: `not in allowedFunctions: ${f.signature}`,
        sql: `REVOKE EXECUTE ON ${keyword(f)} ${f.signature} FROM PUBLIC, ${quoteIdent(role)}`,
      });
    }
  }
  return {
    steps,
    unmatched: allowed.filter((spec) => !functions.some((f) => isAllowedFunction([spec], f))),
    ownedByService: functions.filter((f) => f.owner === role).map((f) => f.signature),
  };
}
