/**
 * PostgreSQL's grammar for the read-back of a spliced query, answering with libpg-query's JSON
 * text rather than objects. libpg-query's parseSync always hands the JSON to JSON.parse, which is
 * about two fifths of a parse; the read-back only needs to compare that text with the substituted
 * tree's (splice.ts), so it calls the same exported function of the same WASM build libpg-query
 * ships, on an instance of its own (libpg-query keeps its instance private).
 */
interface PgQueryWasm {
  _malloc(size: number): number;
  _free(ptr: number): void;
  _wasm_parse_query_raw(queryPtr: number): number;
  _wasm_free_parse_result(resultPtr: number): void;
  getValue(ptr: number, type: 'i32'): number;
  UTF8ToString(ptr: number): string;
  stringToUTF8(text: string, ptr: number, maxBytes: number): void;
  lengthBytesUTF8(text: string): number;
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

/** libpg-query's parse result for `sql` as JSON text, or undefined when it does not parse. */
export function parseToJson(sql: string): string | undefined {
  const wasm = instance;
  if (!wasm) throw new Error('the read-back parser is not loaded (initRewriter)');
  const size = wasm.lengthBytesUTF8(sql) + 1;
  const queryPtr = wasm._malloc(size);
  let resultPtr = 0;
  try {
    wasm.stringToUTF8(sql, queryPtr, size);
    resultPtr = wasm._wasm_parse_query_raw(queryPtr);
    if (!resultPtr) return undefined;
    // PgQueryParseResult: parse_tree, stderr_buffer, error (as libpg-query's index reads it).
    const treePtr = wasm.getValue(resultPtr, 'i32');
    const errorPtr = wasm.getValue(resultPtr + 8, 'i32');
    if (errorPtr || !treePtr) return undefined;
    return wasm.UTF8ToString(treePtr);
  } finally {
    wasm._free(queryPtr);
    if (resultPtr) wasm._wasm_free_parse_result(resultPtr);
  }
}
