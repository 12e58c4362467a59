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

/** Where the first statement's tree starts in libpg-query's JSON (`{"version":...,"stmts":[{"stmt":`). */
const FIRST_STATEMENT = '"stmts":[{"stmt":';

/**
 * Whether `json`, libpg-query's JSON text of a parse, holds exactly one statement whose tree is
 * `stmt`, source positions aside, without a JSON.parse: `stmt` is spelled as JSON.stringify would
 * spell it (keys in their order, members whose value is undefined left out, `<` and `>` escaped as
 * libpg-query escapes them) and compared with the text as it goes, a position member (an integer
 * value) left out on both sides. Two trees whose fields come in the same order (libpg-query's)
 * match exactly when sameTree holds and neither spells out a default; any other difference, and
 * anything JSON.stringify would spell otherwise or leave out (undefined in an array, a function, a
 * non-finite number, an inherited enumerable key, which is looked for in the text), is a
 * difference: false. (It replaced a comparison of the two JSON texts with their
 * position fields removed by a regular expression, and accepts exactly what that accepted.)
 */
export function readsBackAsTree(json: string, stmt: unknown): boolean {
  const head = json.indexOf(FIRST_STATEMENT);
  if (head < 0) return false;
  let p = matchJson(stmt, json, head + FIRST_STATEMENT.length, 0);
  if (p < 0) return false;
  // The RawStmt's own members after its tree: stmt_len, stmt_location (positions) only.
  p = separator(json, p);
  while (p >= 0 && json.charCodeAt(p) === QUOTE) p = separator(json, positionMember(json, p));
  return p >= 0 && p + 3 === json.length && json.startsWith('}]}', p);
}

const QUOTE = 34;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
/**
 * Deeper than the trees the rewriter accepts (MAX_AST_DEPTH levels of its walk): the comparison
 * gives up (a difference) before the stack would.
 */
const MAX_JSON_DEPTH = 4000;

/**
 * The end of `value`'s JSON text when `text` holds it at `p` (positions aside), else -1. One stack
 * frame per level of the tree, as the substitution's walk.
 */
function matchJson(value: unknown, text: string, at: number, depth: number): number {
  if (at < 0 || depth > MAX_JSON_DEPTH) return -1;
  let p = at;
  switch (typeof value) {
    case 'string':
      return matchString(value, text, p);
    case 'number':
      return matchNumber(value, text, p);
    case 'boolean':
      return value ? (text.startsWith('true', p) ? p + 4 : -1) : text.startsWith('false', p) ? p + 5 : -1;
    case 'object':
      break;
    default:
      return -1;
  }
  if (value === null) return text.startsWith('null', p) ? p + 4 : -1;
  if (Array.isArray(value)) {
    if (text.charCodeAt(p) !== OPEN_BRACKET) return -1;
    p++;
    for (let i = 0; i < value.length; i++) {
      if (i > 0) {
        if (text.charCodeAt(p) !== COMMA) return -1;
        p++;
      }
      const item: unknown = value[i];
      // JSON.stringify writes null for these; the parser never does.
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') return -1;
      p = matchJson(item, text, p, depth + 1);
      if (p < 0) return -1;
    }
    return text.charCodeAt(p) === CLOSE_BRACKET ? p + 1 : -1;
  }
  if (text.charCodeAt(p) !== OPEN_BRACE) return -1;
  p++;
  const node = value as Record<string, unknown>;
  for (const key in node) {
    const item = node[key];
    if (item === undefined) continue;
    if (typeof item === 'number' && (key === 'location' || POSITIONS.has(key)) && Number.isSafeInteger(item)) continue;
    p = separator(text, matchJson(item, text, memberValue(key, text, p), depth + 1));
    if (p < 0) return -1;
  }
  while (text.charCodeAt(p) === QUOTE) {
    p = separator(text, positionMember(text, p));
    if (p < 0) return -1;
  }
  return text.charCodeAt(p) === CLOSE_BRACE ? p + 1 : -1;
}

/** Where the value of the text's next member named `key` starts, past position members; else -1. */
function memberValue(key: string, text: string, at: number): number {
  let p = at;
  while (p >= 0 && text.charCodeAt(p) === QUOTE) {
    const afterKey = matchString(key, text, p);
    if (afterKey >= 0) return text.charCodeAt(afterKey) === COLON ? afterKey + 1 : -1;
    p = separator(text, positionMember(text, p));
  }
  return -1;
}

/**
 * After an object member's value at `p`: the next member's opening quote (past the comma), or the
 * closing brace; -1 on anything else.
 */
function separator(text: string, p: number): number {
  if (p < 0) return -1;
  const c = text.charCodeAt(p);
  if (c === CLOSE_BRACE) return p;
  return c === COMMA && text.charCodeAt(p + 1) === QUOTE ? p + 1 : -1;
}

/** Position members as they start in the text (`"location":`), by the first letter of the key. */
const POSITION_MEMBERS = new Map<number, string[]>();
for (const key of POSITION_KEYS) {
  const member = `"${key}":`;
  const list = POSITION_MEMBERS.get(key.charCodeAt(0)) ?? [];
  list.push(member);
  POSITION_MEMBERS.set(key.charCodeAt(0), list);
}

/** The end of a position member (`"location":-12`) at `p`, or -1 when there is none. */
function positionMember(text: string, p: number): number {
  const candidates = POSITION_MEMBERS.get(text.charCodeAt(p + 1));
  if (!candidates) return -1;
  for (const member of candidates) {
    if (!text.startsWith(member, p)) continue;
    let q = p + member.length;
    if (text.charCodeAt(q) === 45) q++;
    const digits = q;
    while (q < text.length && isDigit(text.charCodeAt(q))) q++;
    return q > digits ? q : -1;
  }
  return -1;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * The end of the JSON string `s` at `p`. A string with a character JSON or libpg-query escape, or a
 * surrogate, is compared through its JSON spelling; any other is spelled as it is, so the text
 * holds it when every character matches and a quote follows (no backslash met: the quote closes).
 */
function matchString(s: string, text: string, p: number): number {
  if (text.charCodeAt(p) !== QUOTE) return -1;
  let q = p + 1;
  for (let i = 0; i < s.length; i++, q++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === QUOTE || c === 92 || c === 60 || c === 62 || (c >= 0xd800 && c <= 0xdfff)) {
      const spelled = jsonAsLibpgQuery(s);
      return text.startsWith(spelled, p) ? p + spelled.length : -1;
    }
    // A character spelled as itself: the spelling of `s` has it here too.
    if (c !== text.charCodeAt(q)) return -1;
  }
  return text.charCodeAt(q) === QUOTE ? q + 1 : -1;
}

/** The end of the number `n` as JSON.stringify spells it, at `p`. */
function matchNumber(n: number, text: string, p: number): number {
  if (!Number.isFinite(n)) return -1;
  if (Number.isSafeInteger(n) && Math.abs(n) < 1e15) {
    let q = p;
    const negative = text.charCodeAt(q) === 45;
    if (negative) q++;
    const digits = q;
    let read = 0;
    while (q < text.length && isDigit(text.charCodeAt(q)) && q - digits < 16)
      read = read * 10 + text.charCodeAt(q++) - 48;
    const count = q - digits;
    // JSON.stringify: no leading zeros, no "-0", at most 15 digits below 1e15.
    if (count === 0 || count > 15 || (count > 1 && text.charCodeAt(digits) === 48) || (negative && read === 0))
      return -1;
    return (negative ? -read : read) === n ? q : -1;
  }
  const spelled = JSON.stringify(n);
  return text.startsWith(spelled, p) ? p + spelled.length : -1;
}

/**
 * JSON.stringify of a tree, spelled as libpg-query spells its JSON: it escapes `<` and `>` in
 * strings (they occur nowhere else in JSON), JSON.stringify does not.
 */
function jsonAsLibpgQuery(tree: unknown): string {
  const json = JSON.stringify(tree);
  return json.includes('<') || json.includes('>')
    ? json.replace(/[<>]/g, (c) => (c === '<' ? '\\u003c' : '\\u003e'))
    : json;
}
