/**
 * PostgreSQL's grammar for the read-back of a spliced query, answering with libpg-query's JSON
 * text rather than objects. libpg-query's parseSync always hands the JSON to JSON.parse, which is
 * about two fifths of a parse; the read-back only needs to compare that text with the substituted
 * tree's (splice.ts), so it calls the same exported function of the same WASM build libpg-query
 * ships, on an instance of its own (libpg-query keeps its instance private).
 *
 * Text goes in and out through the instance's memory with the platform's UTF-8 encoder and decoder
 * (the bytes Node.js sends upstream for the same string, message-writer.ts), where emscripten's
 * helpers loop over every character in JavaScript. parseQuery() is parseSync on this instance: the
 * same tree from the same WASM build, the same SqlError when the text does not parse.
 */
import { SqlError } from 'libpg-query';
import type { ParseResult } from '@pgsql/types';

interface PgQueryWasm {
  _malloc(size: number): number;
  _free(ptr: number): void;
  _wasm_parse_query_raw(queryPtr: number): number;
  _wasm_free_parse_result(resultPtr: number): void;
  getValue(ptr: number, type: 'i32'): number;
  /** The instance's memory; replaced when the memory grows (so read after every call into it). */
  readonly HEAPU8: Uint8Array;
}

// The emscripten factory of the WASM build (no type declarations ship with it).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createModule = require('libpg-query/wasm/libpg-query.js') as () => Promise<PgQueryWasm>;

let instance: PgQueryWasm | undefined;
let loading: Promise<void> | undefined;

export function loadReadBackParser(): Promise<void> {
  loading ??= createModule().then((m) => {
    instance = m;
  });
  return loading;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The NUL-terminated UTF-8 string at `ptr` in the instance's memory. */
function stringAt(wasm: PgQueryWasm, ptr: number): string {
  const heap = wasm.HEAPU8;
  const end = heap.indexOf(0, ptr);
  return decoder.decode(heap.subarray(ptr, end < 0 ? heap.length : end));
}

/**
 * Parses `sql` on this instance: its JSON text, or the parser's error (message and 0-based cursor,
 * as parseSync reports them).
 */
function parseRaw(sql: string): { json: string } | { error: SqlError } {
  const wasm = instance;
  if (!wasm) throw new Error('the read-back parser is not loaded (initRewriter)');
  const size = Buffer.byteLength(sql, 'utf8');
  const queryPtr = wasm._malloc(size + 1);
  let resultPtr = 0;
  try {
    const heap = wasm.HEAPU8;
    const { written } = encoder.encodeInto(sql, heap.subarray(queryPtr, queryPtr + size));
    if (written !== size) throw new Error('the statement could not be encoded as UTF-8');
    heap[queryPtr + size] = 0;
    resultPtr = wasm._wasm_parse_query_raw(queryPtr);
    if (!resultPtr) throw new Error('Failed to parse query: memory allocation failed');
    // PgQueryParseResult: parse_tree, stderr_buffer, error (as libpg-query's index reads it).
    const treePtr = wasm.getValue(resultPtr, 'i32');
    const errorPtr = wasm.getValue(resultPtr + 8, 'i32');
    if (errorPtr) {
      // PgQueryError: message, funcname, filename, lineno, cursorpos (1-based; 0 when it has none).
      const messagePtr = wasm.getValue(errorPtr, 'i32');
      const cursor = wasm.getValue(errorPtr + 16, 'i32');
      const message = messagePtr ? stringAt(wasm, messagePtr) : 'Unknown error';
      return { error: new SqlError(message, { message, cursorPosition: cursor > 0 ? cursor - 1 : 0 }) };
    }
    if (!treePtr) throw new Error('No parse tree generated');
    return { json: stringAt(wasm, treePtr) };
  } finally {
    wasm._free(queryPtr);
    if (resultPtr) wasm._wasm_free_parse_result(resultPtr);
  }
}

/** libpg-query's parse result for `sql` as JSON text, or undefined when it does not parse. */
export function parseToJson(sql: string): string | undefined {
  const parsed = parseRaw(sql);
  return 'json' in parsed ? parsed.json : undefined;
}

/** libpg-query's parseSync on this instance: the parse result, or the SqlError parseSync throws. */
export function parseQuery(sql: string): ParseResult {
  if (sql === '') throw new Error('Query cannot be empty');
  const parsed = parseRaw(sql);
  if ('error' in parsed) throw parsed.error;
  // libpg-query's JSON, typed as libpg-query's own parseSync types it.
  return JSON.parse(parsed.json) as ParseResult;
}
