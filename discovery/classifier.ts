/**
 * A classifier says, value by value, whether a sampled value looks like one kind of sensitive data,
 * and, with the column's name, how sure discovery may be about the whole column. Values are judged
 * in two grades: `shape` (the right form, nothing more) and `valid` (a real check passed: a
 * checksum, an issuer range, a phone numbering plan, a dictionary). A shape alone proposes a tag
 * only when the column's name hints at it too.
 */
export type ValueGrade = 0 | 1 | 2;
export const NONE: ValueGrade = 0;
export const SHAPE: ValueGrade = 1;
export const VALID: ValueGrade = 2;

/** What kind of PostgreSQL type a column has, as far as classifiers care. */
export type TypeFamily = 'text' | 'number' | 'date' | 'network' | 'uuid' | 'json' | 'geometry' | 'other';

export interface Classifier {
  readonly id: string;
  /** The tag proposed for a column it flags. */
  readonly tag: string;
  readonly description: string;
  /** Matched against the column's name in snake case (`customerEmail` -> `customer_email`). */
  readonly nameHint?: RegExp;
  /** A name that rules the classifier out (an order number shaped like a phone number). */
  readonly nameVeto?: RegExp;
  /** Only with a name hint (dates of birth: any date is plausible, the name says whose). */
  readonly needsNameHint?: boolean;
  /** Share of valid values that flags a column without a name hint (default 0.8). */
  readonly minShare?: number;
  /** ...and share of values of the right shape it needs besides (default 0). */
  readonly minShapeShare?: number;
  /** Share of values of the right shape that flags a column whose name hints (default 0.5). */
  readonly minShareWithHint?: number;
  /** ...and share of valid values it needs besides (default 0: free text needs some PII in it). */
  readonly minValidWithHint?: number;
  /** When two classifiers claim the same values, the higher wins (a JWT is also a high-entropy token). */
  readonly specificity: number;
  /** Column types it looks at (default: text). */
  readonly types?: readonly TypeFamily[];
  grade(value: string): ValueGrade;
}

/** `customerEmail`, `Customer-Email` and `customer_email` all read `customer_email`. */
export function snakeName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

/** A regular expression over snake-case names that matches whole words: `hint('e_?mail')`. */
export function nameWords(pattern: string): RegExp {
  return new RegExp(`(^|_)(${pattern})(_|$)`);
}

export function typeFamily(formatType: string): TypeFamily {
  const t = formatType.toLowerCase();
  if (/^(date|timestamp)/.test(t)) return 'date';
  if (/^(smallint|integer|bigint|numeric|real|double precision|decimal)/.test(t)) return 'number';
  if (/^(inet|cidr|macaddr)/.test(t)) return 'network';
  if (t === 'uuid') return 'uuid';
  if (/^jsonb?$/.test(t)) return 'json';
  if (/^(point|geometry|geography)/.test(t) || t.endsWith('.geometry') || t.endsWith('.geography')) return 'geometry';
  if (/^(boolean|bytea|interval|time |time$|tsvector|tsquery|oid|xml|money|bit)/.test(t) || t.endsWith('[]'))
    return 'other';
  return 'text';
}
