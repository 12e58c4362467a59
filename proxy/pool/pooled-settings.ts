/**
 * A pooled client's session settings, kept by pgveil between the transactions it runs on whichever
 * connection serves it. PostgreSQL stays the judge of every value: a client's startup settings are
 * applied by set_config (so an invalid one fails as it would at startup), and after a transaction
 * that changed a setting, pgveil reads back what upstream holds at session level (pg_settings,
 * source 'session') instead of replaying SET statements: rollbacks, savepoints, SET LOCAL and
 * failed transactions are then PostgreSQL's own business.
 *
 * Values are keyed by lower-case name. Only the settings analysts may change (the SETTABLE list)
 * are ever set, so no other client's state can hide in anything else.
 */
import { SETTABLE } from '../../rewriter';
import { quoteIdent } from '../../rewriter';

export type SettingValues = ReadonlyMap<string, string>;

/** Settings that live for a session; transaction_* last only for one transaction. */
const SESSION_SETTINGS = [...SETTABLE].filter((name) => !name.startsWith('transaction_') && name !== 'pgveil.purpose');

/** pgveil.purpose is a placeholder upstream (no pg_settings row): read with current_setting. */
const PURPOSE = 'pgveil.purpose';

/** What upstream holds at session level for the settings pgveil pools. */
export const CAPTURE_SQL =
  `SELECT pg_catalog.lower(name), setting FROM pg_catalog.pg_settings WHERE source = 'session' AND pg_catalog.lower(name) IN (${SESSION_SETTINGS.map(literal).join(', ')})` +
  ` UNION ALL SELECT '${PURPOSE}', pg_catalog.current_setting('${PURPOSE}', true) WHERE coalesce(pg_catalog.current_setting('${PURPOSE}', true), '') <> ''`;

export class PooledSettings {
  private values: SettingValues;

  constructor(
    /** What the client asked for at startup: RESET returns to it, as in PostgreSQL. */
    private readonly baseline: SettingValues,
  ) {
    this.values = baseline;
  }

  get current(): SettingValues {
    return this.values;
  }

  /**
   * Upstream's session-level values after a transaction that may have changed some: what the
   * client changed, and for everything else (never changed, or RESET) its startup value. Returns the
   * names whose value upstream reset to the server's default while the client's own default differs,
   * which the client must be told again.
   */
  captured(rows: ReadonlyArray<ReadonlyArray<string | null>>): string[] {
    const next = new Map(this.baseline);
    const session = new Set<string>();
    for (const [name, value] of rows) {
      if (name == null || value == null) continue;
      next.set(name, value);
      session.add(name);
    }
    this.values = next;
    return [...this.baseline.keys()].filter((name) => !session.has(name));
  }
}

/**
 * The statements that bring a connection from the settings it holds to the client's: nothing when
 * they are equal (the usual case: clients of one tool send the same startup settings).
 */
export function settingsPreamble(applied: SettingValues, wanted: SettingValues): string | undefined {
  const sets: string[] = [];
  for (const [name, value] of wanted)
    if (applied.get(name) !== value) sets.push(`pg_catalog.set_config(${literal(name)}, ${literal(value)}, false)`);
  const resets: string[] = [];
  for (const name of applied.keys()) if (!wanted.has(name)) resets.push(`RESET ${quoteIdent(name)}`);
  if (sets.length === 0 && resets.length === 0) return undefined;
  return [...(sets.length > 0 ? [`SELECT ${sets.join(', ')}`] : []), ...resets].join(';\n');
}

export function sameSettings(a: SettingValues, b: SettingValues): boolean {
  if (a.size !== b.size) return false;
  for (const [name, value] of a) if (b.get(name) !== value) return false;
  return true;
}

/** An escape string: it means the same whatever standard_conforming_strings says. */
function literal(value: string): string {
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
