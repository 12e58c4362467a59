/**
 * Each JSON Schema (cli/config/server-config-schema.json, policies/policy-schema.json,
 * policies/policy-test-schema.json) against the TypeScript type the code reads the validated file
 * as (ServerConfig, PolicyFile, PolicyTestFile), so the two cannot drift. json-schema-to-typescript
 * turns the schema into a type; the TypeScript compiler then checks, in a program built here, that
 * both name the same key paths, agree on which are optional, and accept each other's values. A key
 * added to one only, an optional/required mismatch, or a changed enum fails with the path at fault in
 * the compiler's message.
 *
 * Why a test and not one generated source: the hand-written types carry the doc comments and the
 * narrower shapes the code relies on (discriminated unions, readonly), and are imported everywhere;
 * comparing keeps them while making drift impossible to miss.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '../..');

/**
 * What validation does that the schema's type does not say: ajv runs with useDefaults, so a property
 * with a default is always there once loaded (required); a branch that only lists `required` keys (in
 * allOf) makes those keys required; anyOf branches that only list `required` keys (one of pattern,
 * dictionary or columnName) are a run-time rule the type leaves to validation.
 */
function asLoaded(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(asLoaded);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = asLoaded(value);
  const properties = out.properties as Record<string, { default?: unknown }> | undefined;
  if (properties) {
    const defaulted = Object.keys(properties).filter((k) => properties[k]!.default !== undefined);
    out.required = [...new Set([...((out.required as string[] | undefined) ?? []), ...defaulted])];
  }
  const requiredOnly = (s: Record<string, unknown>): boolean =>
    Object.keys(s).length === 1 && Array.isArray(s.required);
  if (Array.isArray(out.anyOf) && (out.anyOf as Record<string, unknown>[]).every(requiredOnly)) delete out.anyOf;
  if (Array.isArray(out.allOf)) {
    out.allOf = (out.allOf as Record<string, unknown>[]).map((s) =>
      requiredOnly(s) ? { tsType: `{ ${(s.required as string[]).map((k) => `${k}: {}`).join('; ')} }` } : s,
    );
  }
  return out;
}

// Type-level comparison, written into the program that checks each pair.
const COMPARE = `
type Mutable<T> = T extends readonly (infer U)[] ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;
type Depth = [never, 0, 1, 2, 3, 4, 5];
/** Every key path (an array's items as []), deep enough to reach into nested conditions twice. */
type Paths<T, P extends string = '', D extends number = 6> = [D] extends [never] ? never
  : T extends readonly (infer U)[] ? Paths<U, \`\${P}[].\`, D>
  : T extends object ? { [K in keyof T & string]-?: \`\${P}\${K}\` | Paths<NonNullable<T[K]>, \`\${P}\${K}.\`, Depth[D]> }[keyof T & string]
  : never;
/** The key paths whose last key is optional. */
type OptionalPaths<T, P extends string = '', D extends number = 6> = [D] extends [never] ? never
  : T extends readonly (infer U)[] ? OptionalPaths<U, \`\${P}[].\`, D>
  : T extends object ? { [K in keyof T & string]-?: ({} extends Pick<T, K> ? \`\${P}\${K}\` : never) | OptionalPaths<NonNullable<T[K]>, \`\${P}\${K}.\`, Depth[D]> }[keyof T & string]
  : never;
`;

interface Pair {
  readonly schema: string;
  /** Module and type the code reads the validated file as. */
  readonly module: string;
  readonly type: string;
  /** Key paths that are in the type only, or in the schema only, on purpose: each with its reason. */
  readonly onlyInType: Readonly<Record<string, string>>;
  readonly onlyInSchema: Readonly<Record<string, string>>;
}

const PAIRS: readonly Pair[] = [
  {
    schema: 'cli/config/server-config-schema.json',
    module: 'cli/config/server-config',
    type: 'ServerConfig',
    onlyInType: { file: 'set by loadServerConfig: the file the configuration was read from' },
    onlyInSchema: {},
  },
  {
    schema: 'policies/policy-schema.json',
    module: 'policies/policy-model',
    type: 'PolicyFile',
    onlyInType: {},
    onlyInSchema: {},
  },
  {
    schema: 'policies/policy-test-schema.json',
    module: 'policies/policy-tests',
    type: 'PolicyTestFile',
    onlyInType: {},
    onlyInSchema: {},
  },
];

function checkProgram(pair: Pair, generatedFile: string): string {
  const union = (keys: Readonly<Record<string, string>>): string =>
    Object.keys(keys)
      .map((k) => `'${k}'`)
      .join(' | ') || 'never';
  return `${COMPARE}
import type { ${pair.type} as Hand } from '${join(ROOT, pair.module)}';
import type { Schema } from './${generatedFile}';
type Loaded = Mutable<Omit<Hand, ${union(pair.onlyInType)}>>;
// Key paths: the same in both, but for the listed exceptions (which must still be exceptions).
export const onlyInType: never = null as unknown as Exclude<Paths<Hand>, Paths<Schema> | ${union(pair.onlyInType)}>;
export const onlyInSchema: never = null as unknown as Exclude<Paths<Schema>, Paths<Hand> | ${union(pair.onlyInSchema)}>;
export const typeExceptions: Exclude<Paths<Hand>, Paths<Schema>> = null as unknown as ${union(pair.onlyInType)};
export const schemaExceptions: Exclude<Paths<Schema>, Paths<Hand>> = null as unknown as ${union(pair.onlyInSchema)};
// Optional in one exactly where optional in the other.
export const optionalOnlyInType: never = null as unknown as Exclude<OptionalPaths<Hand>, OptionalPaths<Schema> | ${union(pair.onlyInType)}>;
export const optionalOnlyInSchema: never = null as unknown as Exclude<OptionalPaths<Schema>, OptionalPaths<Hand> | ${union(pair.onlyInSchema)}>;
// Values: every file the schema accepts is a value of the type, and the reverse.
export const schemaToType: Hand = null as unknown as Schema;
export const typeToSchema: Schema = null as unknown as Loaded;
`;
}

/**
 * json-schema-to-typescript in a child process: it loads Prettier, whose dynamic import Jest's module
 * sandbox refuses. The root type is named Schema, whatever the schema's title.
 */
function generateType(schema: unknown, out: string): void {
  const input = `${out}.schema.json`;
  writeFileSync(input, JSON.stringify(schema));
  const script = `
    const { compile } = require('json-schema-to-typescript');
    const [input, out] = process.argv.slice(1);
    const schema = JSON.parse(require('node:fs').readFileSync(input, 'utf8'));
    const options = { bannerComment: '', additionalProperties: false, ignoreMinAndMaxItems: true, format: false,
      customName: (s, name) => (s.title === schema.title ? 'Schema' : name) };
    compile(schema, 'Schema', options).then((text) => require('node:fs').writeFileSync(out, text));`;
  execFileSync(process.execPath, ['-e', script, input, out], { cwd: ROOT });
}

let dir: string;
let program: ts.Program;
const checkFile = (pair: Pair): string => join(dir, `${pair.type.toLowerCase()}.check.ts`);

// One program checks every pair: building it (Node's and the libraries' types) is most of the cost.
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgveil-schema-types-'));
  for (const pair of PAIRS) {
    const base = pair.type.toLowerCase();
    generateType(
      asLoaded(JSON.parse(readFileSync(join(ROOT, pair.schema), 'utf8'))),
      join(dir, `${base}.generated.ts`),
    );
    writeFileSync(checkFile(pair), checkProgram(pair, `${base}.generated`));
  }
  program = ts.createProgram(PAIRS.map(checkFile), {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    esModuleInterop: true,
    resolveJsonModule: true,
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules/@types')],
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each(PAIRS)('$schema matches $type', (pair) => {
  const problems = ts
    .getPreEmitDiagnostics(program, program.getSourceFile(checkFile(pair)))
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(problems).toEqual([]);
});
