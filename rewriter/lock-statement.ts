/**
 * `LOCK TABLE ... IN ACCESS SHARE MODE`, which pg_dump sends for every table it dumps so that none
 * is dropped or altered under it. ACCESS SHARE is the lock every SELECT takes and holds until its
 * transaction ends: an analyst who may read a table can already hold it (`BEGIN; SELECT 1 FROM t
 * LIMIT 0;` and then wait), so this grants nothing new. It conflicts only with ACCESS EXCLUSIVE
 * (ALTER TABLE, DROP, TRUNCATE, VACUUM FULL, REFRESH MATERIALIZED VIEW without CONCURRENTLY),
 * which then waits until the analyst's transaction ends, as it would behind any open SELECT;
 * pgveil's idle timeout ends such a connection. Every stronger mode blocks other analysts' writes
 * or reads, so it is refused. Each table goes through the same checks as in `SELECT FROM t`
 * (resolution, refused catalogs, the helper schema, subscription and policy decision), and is
 * schema-qualified the way the query rewrite qualifies it.
 */
import type { LockStmt } from '@pgsql/types';
import { bodyOf, isKind, isTreeObject, type NodeOf } from './ast';
import type { RelationSubstitution } from './relation-substitution';
import { GuardRefusal } from './statement-guard';

/** PostgreSQL's AccessShareLock, the mode number LockStmt carries. */
const ACCESS_SHARE_LOCK = 1;

/** The LOCK statement's body with each table schema-qualified as the substitution resolved it (a new node). */
export function checkLock(body: LockStmt, substitution: RelationSubstitution): LockStmt {
  if (body.mode !== ACCESS_SHARE_LOCK) {
    throw new GuardRefusal(
      'lock_mode',
      'LOCK is allowed through pgveil only IN ACCESS SHARE MODE, the lock a SELECT takes',
    );
  }
  const relations = (body.relations ?? []).map((entry) => {
    const relation = bodyOf(entry, 'RangeVar');
    if (!relation) throw new GuardRefusal('statement_class', 'lock statements name tables only');
    const probe: NodeOf<'SelectStmt'> = {
      SelectStmt: {
        fromClause: [{ RangeVar: structuredClone(relation) }],
        limitOption: 'LIMIT_OPTION_DEFAULT',
        op: 'SETOP_NONE',
      },
    };
    let substituted: unknown;
    try {
      substituted = substitution.query(probe);
    } catch (error) {
      // pg_dump locks every table it is about to dump, pgveil's own helper schema included.
      if (error instanceof GuardRefusal && error.rule === 'helper_schema') {
        throw new GuardRefusal(
          error.rule,
          `${error.message}: to dump through pgveil, leave its schema out (pg_dump --exclude-schema=${String(relation.schemaname ?? '')})`,
        );
      }
      throw error;
    }
    const schema = resolvedSchema(substituted, String(relation.relname));
    // Rebuilt with the schema first, where the parser puts it: the printed LOCK must read back as this tree.
    if (schema === undefined) return entry;
    const { schemaname: _written, ...rest } = relation;
    return { RangeVar: { schemaname: schema, ...rest } };
  });
  return { ...body, relations };
}

/**
 * The schema the substitution resolved `name` to: the first range variable of that name it left.
 * A generic walk (ast.ts TreeObject): every field of every node is searched, whatever its kind.
 */
function resolvedSchema(node: unknown, name: string): string | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = resolvedSchema(item, name);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isTreeObject(node)) return undefined;
  if (isKind(node, 'RangeVar') && node.RangeVar.relname === name && typeof node.RangeVar.schemaname === 'string')
    return node.RangeVar.schemaname;
  for (const value of Object.values(node)) {
    const found = resolvedSchema(value, name);
    if (found !== undefined) return found;
  }
  return undefined;
}
