/**
 * Whether two parse trees are the same statement for PostgreSQL: equal in every field but the
 * source positions. libpg-query leaves out fields holding their default (false, 0, '', an empty
 * list), and the rewriter's own nodes may spell them out, so a missing field equals its default.
 */
/** Source positions (UTF-8 byte offsets) in libpg-query's nodes (@pgsql/types). */
const POSITION_KEYS = [
  'location',
  'name_location',
  'list_start',
  'list_end',
  'rexpr_list_start',
  'rexpr_list_end',
  'stmt_location',
  'stmt_len',
];
const POSITIONS = new Set(POSITION_KEYS);

/**
 * A position field with its comma: after the previous field, or (first field) before the next.
 * Inside a JSON string every quote is escaped, so `"location":` with a bare quote is always a key.
 */
const POSITION_FIELD = new RegExp(
  `,"(?:${POSITION_KEYS.join('|')})":-?\\d+|"(?:${POSITION_KEYS.join('|')})":-?\\d+,?`,
  'g',
);

/**
 * JSON text of a tree without its position fields. Two trees whose fields come in the same order
 * (libpg-query's order) give the same text exactly when sameTree holds and neither spells out a
 * default; any other difference only makes the texts differ, never equal.
 */
export function withoutPositions(json: string): string {
  return json.replace(POSITION_FIELD, '');
}

export function sameTree(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameTree(a[i], b[i])) return false;
    return true;
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(b)) {
    return (a === undefined && isDefault(b)) || (b === undefined && isDefault(a));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const key in x) {
    if (POSITIONS.has(key)) continue;
    if (key in y ? !sameTree(x[key], y[key]) : !isDefault(x[key])) return false;
  }
  for (const key in y) {
    if (!POSITIONS.has(key) && !(key in x) && !isDefault(y[key])) return false;
  }
  return true;
}

/** A field value libpg-query would leave out. */
function isDefault(value: unknown): boolean {
  return (
    value === undefined ||
    value === false ||
    value === 0 ||
    value === '' ||
    (Array.isArray(value) && value.length === 0)
  );
}

/**
 * JSON.stringify of a tree, spelled as libpg-query spells its JSON: it escapes `<` and `>` in
 * strings (they occur nowhere else in JSON), JSON.stringify does not.
 */
export function jsonAsLibpgQuery(tree: unknown): string {
  const json = JSON.stringify(tree);
  return json.includes('<') || json.includes('>')
    ? json.replace(/[<>]/g, (c) => (c === '<' ? '\\u003c' : '\\u003e'))
    : json;
}
