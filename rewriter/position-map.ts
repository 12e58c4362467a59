/**
 * Error positions in the analyst's own text. Upstream reports a position (ErrorResponse field P)
 * into the rewritten text, which has no comments, other white space, and derived tables where
 * protected relations stood. PostgreSQL's positions are the source locations of parse-tree nodes,
 * and the rewritten text parses to the analyst's tree except where the rewrite replaced a subtree:
 * walking both trees side by side pairs each rewritten node with the analyst's node it came from.
 * Where the trees differ (a substituted relation, anything the printer spelled another way) the
 * walk stops, so a position inside text pgveil wrote maps to nothing, and is then left out rather
 * than pointing at the wrong token.
 */
import { parseTree } from './sql-parser';
import { isTreeObject, type TreeObject } from './ast';

/** Deeper trees than this are not walked (the rewriter refuses far shallower ones anyway). */
const MAX_DEPTH = 2000;

/**
 * The analyst's position (1-based, in characters, as PostgreSQL counts) for an upstream position
 * into the rewritten text, or undefined when no node of the analyst's text is there.
 */
export function originalPosition(original: string, rewritten: string, position: number): number | undefined {
  const rewrittenOffset = byteOffsetOfCharacter(rewritten, position - 1);
  if (rewrittenOffset === undefined) return undefined;
  let pairs: Map<number, number | undefined>;
  try {
    const a = parseTree(original);
    const b = parseTree(rewritten);
    if (a.length !== b.length) return undefined;
    pairs = new Map();
    a.forEach((statement, i) => pairLocations(statement.stmt, b[i]!.stmt, pairs, 0));
  } catch {
    return undefined;
  }
  const originalOffset = pairs.get(rewrittenOffset);
  if (originalOffset === undefined) return undefined;
  return characterAtByteOffset(original, originalOffset) + 1;
}

/**
 * Records rewritten location -> original location for nodes at the same place in both trees. A
 * rewritten location that two different original locations claim is ambiguous: undefined. A generic
 * walk (ast.ts TreeObject): every field of every node kind has its locations paired.
 */
function pairLocations(a: unknown, b: unknown, pairs: Map<number, number | undefined>, depth: number): void {
  if (depth > MAX_DEPTH) return;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return;
    a.forEach((item, i) => pairLocations(item, b[i], pairs, depth + 1));
    return;
  }
  if (!isTreeObject(a) || !isTreeObject(b)) return;
  // A node is `{ Kind: {...} }`: a different kind here is a subtree the rewrite replaced.
  if (isWrapper(a) || isWrapper(b)) {
    if (Object.keys(a)[0] !== Object.keys(b)[0] || !isWrapper(a) || !isWrapper(b)) return;
  }
  const from = a.location;
  const to = b.location;
  if (typeof from === 'number' && typeof to === 'number' && from >= 0 && to >= 0) {
    if (pairs.has(to) && pairs.get(to) !== from) pairs.set(to, undefined);
    else pairs.set(to, from);
  }
  for (const key of Object.keys(a)) {
    if (key !== 'location' && key in b) pairLocations(a[key], b[key], pairs, depth + 1);
  }
}

function isWrapper(node: TreeObject): boolean {
  const keys = Object.keys(node);
  return keys.length === 1 && /^[A-Z]/.test(keys[0]!);
}

/** UTF-8 byte offset of the character at `index` (0-based, in code points); the end counts. */
function byteOffsetOfCharacter(text: string, index: number): number | undefined {
  if (index < 0) return undefined;
  let chars = 0;
  let bytes = 0;
  for (const ch of text) {
    if (chars === index) return bytes;
    chars++;
    bytes += Buffer.byteLength(ch, 'utf8');
  }
  return chars === index ? bytes : undefined;
}

/** The character index (0-based, in code points) at a UTF-8 byte offset. */
function characterAtByteOffset(text: string, offset: number): number {
  let chars = 0;
  let bytes = 0;
  for (const ch of text) {
    if (bytes >= offset) break;
    chars++;
    bytes += Buffer.byteLength(ch, 'utf8');
  }
  return chars;
}
