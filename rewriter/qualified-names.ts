/**
 * Schema- and database-qualified names, as PostgreSQL resolves them, kept meaning the same after the
 * substitution:
 *
 * - `db.schema.table` and `db.schema.table.column` name the current database when `db` is the data
 *   product the analyst connected to (upstream's database has another name, so the part is dropped);
 *   any other database is refused as PostgreSQL refuses it.
 * - `schema.table.column` (and `schema.table.*`) names the FROM item that reads that very relation
 *   without an alias. Once the relation is a derived table, only its name (the derived table's
 *   alias) still finds it, so the reference loses its schema. Where another FROM item anywhere in
 *   the statement has that same name, the shortened reference could bind to it instead: refused.
 */
import type { RangeVar } from '@pgsql/types';
import { isKind, stringOf, type PgNode } from './ast';
import { GuardRefusal } from './statement-guard';

const crossDatabase = (name: string): GuardRefusal =>
  new GuardRefusal('cross_database', `cross-database references are not implemented: "${name}"`, '0A000');

/** A RangeVar's catalog part: refused unless it names the current data product (the substitution then drops it). */
export function currentDatabaseRelation(rv: RangeVar, dataProduct: string): void {
  const catalog = rv.catalogname;
  if (catalog !== undefined && catalog !== dataProduct)
    throw crossDatabase(`${catalog}.${String(rv.schemaname)}.${String(rv.relname)}`);
}

export class QualifiedColumns {
  /** `schema.relation` of each unaliased reference to a relation that became a derived table. */
  private readonly substituted = new Set<string>();
  /** How many FROM items of the statement carry each name. */
  private readonly refnames = new Map<string, number>();

  constructor(private readonly dataProduct: string) {}

  fromItem(name: string | undefined): void {
    if (name !== undefined) this.refnames.set(name, (this.refnames.get(name) ?? 0) + 1);
  }

  derivedTable(schema: string, relation: string, aliased: boolean): void {
    if (!aliased) this.substituted.add(`${schema}.${relation}`);
  }

  /**
   * A ColumnRef's fields as they must be sent, once every FROM item of the statement has been
   * seen: `fields` itself when they stay, else a new list without the leading parts.
   */
  columnRef<F extends PgNode>(fields: readonly F[]): readonly F[] {
    let kept = fields;
    if (kept.length === 4) {
      const shown = kept.map((f) => stringOf(f) ?? (isKind(f, 'A_Star') ? '*' : '?')).join('.');
      if (stringOf(kept[0]) !== this.dataProduct) throw crossDatabase(shown);
      kept = kept.slice(1);
    }
    if (kept.length !== 3) return kept;
    const at = (i: number): string | undefined => stringOf(kept[i]);
    const schema = at(0);
    const relation = at(1);
    if (schema === undefined || relation === undefined || !this.substituted.has(`${schema}.${relation}`)) return kept;
    if ((this.refnames.get(relation) ?? 0) > 1) {
      throw new GuardRefusal(
        'qualified_column',
        `column reference "${schema}.${relation}.${at(2) ?? '*'}" is not supported through pgveil where several FROM items are named "${relation}": use a table alias`,
        '0A000',
      );
    }
    return kept.slice(1);
  }
}
