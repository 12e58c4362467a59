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
import type { Node } from './ast';
import { GuardRefusal } from './statement-guard';

const crossDatabase = (name: string): GuardRefusal =>
  new GuardRefusal('cross_database', `cross-database references are not implemented: "${name}"`, '0A000');

/** A RangeVar's catalog part: dropped when it names the current data product, refused otherwise. */
export function currentDatabaseRelation(rv: Node, dataProduct: string): void {
  const catalog = rv.catalogname as string | undefined;
  if (catalog === undefined) return;
  if (catalog !== dataProduct) throw crossDatabase(`${catalog}.${String(rv.schemaname)}.${String(rv.relname)}`);
  delete rv.catalogname;
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

  /** Rewrites a ColumnRef's fields in place, once every FROM item of the statement has been seen. */
  columnRef(ref: Node): void {
    const fields = ref.ColumnRef.fields as Node[];
    const text = (i: number): string | undefined => fields[i]?.String?.sval as string | undefined;
    if (fields.length === 4) {
      const shown = fields.map((f, i) => text(i) ?? (f.A_Star ? '*' : '?')).join('.');
      if (text(0) !== this.dataProduct) throw crossDatabase(shown);
      fields.splice(0, 1);
    }
    if (fields.length !== 3) return;
    const schema = text(0);
    const relation = text(1);
    if (schema === undefined || relation === undefined || !this.substituted.has(`${schema}.${relation}`)) return;
    if ((this.refnames.get(relation) ?? 0) > 1) {
      throw new GuardRefusal(
        'qualified_column',
        `column reference "${schema}.${relation}.${text(2) ?? '*'}" is not supported through pgveil where several FROM items are named "${relation}": use a table alias`,
        '0A000',
      );
    }
    fields.splice(0, 1);
  }
}
