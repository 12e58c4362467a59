/**
 * Output ports of a data product, as a policy file declares them (`ports:` under a data product,
 * validated by policies/policy-schema.json). A data product without ports has one implicit
 * internal port named after it: today's behaviour, unchanged.
 */
export type DimensionValue = string | number | boolean;

interface MeasureBounds {
  /** Values are clamped to [lower, upper] before they are summed: the sum's sensitivity follows. */
  readonly lower: number;
  readonly upper: number;
  /** Decimal places kept (values are rounded to 10^-decimals before summing); default 0. */
  readonly decimals?: number;
}

/** What an external port publishes of one relation. */
export interface PublishedRelation {
  /** The column that identifies the person (or other unit) whose presence must stay hidden. */
  readonly privacyUnit: string;
  /** Rows one privacy unit may contribute to one answer (all groups together); more are dropped. */
  readonly maxRowsPerUnit: number;
  /** Columns one may group by, each with its declared domain: groups outside it are not answered. */
  readonly dimensions?: Readonly<Record<string, readonly DimensionValue[]>>;
  /** Columns one may SUM or AVG, with their bounds. */
  readonly measures?: Readonly<Record<string, MeasureBounds>>;
}

export type BudgetPeriod = 'day' | 'week' | 'month' | 'year';

export interface OutputPortConfig {
  /** The database name a client connects to, e.g. `sales_external`. */
  readonly name: string;
  readonly kind: 'internal' | 'external';
  readonly description?: string;
  /** Who may connect to this port (instead of the data product's own subscriptions). */
  readonly subscribers: { readonly users?: readonly string[]; readonly groups?: readonly string[] };
  /** external: epsilon one answer spends (split evenly over its noisy aggregates). */
  readonly epsilonPerAnswer?: number;
  /** external: what each subscriber may spend on this port per period. */
  readonly budget?: { readonly epsilon: number; readonly period: BudgetPeriod };
  /** external: the relations it answers over, by `schema.table` or `table` (schema public). */
  readonly relations?: Readonly<Record<string, PublishedRelation>>;
}
