/**
 * How much of one relation discovery reads: never more rows than asked for (`--rows`, the row cap),
 * and never more than `maxChars` characters in all. A wide relation first gets fewer rows, down to
 * a floor that still tells a column's kind (20); past that each value is cut shorter instead, so
 * that even 1,600 columns of long text stay under the bound.
 */
export interface SampleSize {
  readonly rows: number;
  readonly maxValueChars: number;
}

const MIN_ROWS = 20;

export function sampleSize(
  columns: number,
  limits: { readonly rows: number; readonly maxValueChars: number; readonly maxChars: number },
): SampleSize {
  const width = Math.max(1, columns);
  const fitting = Math.floor(limits.maxChars / (width * limits.maxValueChars));
  const rows = Math.max(1, Math.min(limits.rows, Math.max(MIN_ROWS, fitting)));
  const maxValueChars = Math.max(1, Math.min(limits.maxValueChars, Math.floor(limits.maxChars / (width * rows))));
  return { rows, maxValueChars };
}
