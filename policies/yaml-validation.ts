/**
 * YAML parsed with node positions and validated with a JSON Schema (ajv): every error names the
 * file, the line and the key at fault, and says what was expected. A file that is empty, holds
 * only whitespace or comments, or whose top level is not a mapping is an error, never "nothing":
 * a policy file cut to nothing must not read as a policy that allows everything.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { isMap, isNode, parseDocument, type Document } from 'yaml';

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
}

// verbose: an error carries the schema object it failed in, whose misplacedProperties (an annotation
// pgveil's schemas use) say why a key that is valid elsewhere is not valid there.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
ajv.addKeyword({ keyword: 'misplacedProperties', schemaType: 'object' });

export function compileSchema<T>(schema: object): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}

/** A parsed, validated file with what it takes to point at any of its values by line. */
export interface ValidatedYaml<T> {
  readonly value: T;
  /** The line (1-based) of the value at `keys`, or of the file's start when it has none. */
  lineOf(keys: ReadonlyArray<string | number>): number;
}

export function parseValidatedYaml<T>(path: string, text: string, validate: ValidateFunction<T>): T {
  return parseValidatedYamlWithLines(path, text, validate).value;
}

export function parseValidatedYamlWithLines<T>(
  path: string,
  text: string,
  validate: ValidateFunction<T>,
): ValidatedYaml<T> {
  if (text.trim().length === 0) throw new ValidationError(`${path}: the file is empty`);
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new ValidationError(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
  if (!isMap(doc.contents)) {
    const what = doc.contents === null ? 'holds no value (only comments?)' : 'top level is not a mapping';
    throw new ValidationError(
      `${path}:${lineAt(text, isNode(doc.contents) ? doc.contents.range?.[0] : 0)}: the file ${what}`,
    );
  }
  const value: unknown = doc.toJS();
  const lineOf = (keys: ReadonlyArray<string | number>): number => {
    const node = doc.getIn([...keys], true);
    return lineAt(text, isNode(node) && node.range ? node.range[0] : 0);
  };
  if (!validate(value)) {
    const errors = validate.errors ?? [];
    // oneOf/anyOf report every branch; the most specific (deepest) errors say the most.
    const deepest = Math.max(...errors.map((e) => e.instancePath.length));
    const shown = errors.filter((e) => e.instancePath.length === deepest || e.keyword === 'additionalProperties');
    throw new ValidationError([...new Set(shown.map((e) => describe(path, doc, e, text)))].join('\n'));
  }
  return { value, lineOf };
}

function lineAt(text: string, offset: number | undefined): number {
  return text.slice(0, offset ?? 0).split('\n').length;
}

function describe(path: string, doc: Document, error: ErrorObject, text: string): string {
  const keys = error.instancePath
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const node = doc.getIn(keys, true);
  const line = lineAt(text, isNode(node) && node.range ? node.range[0] : 0);
  const key = keys.length > 0 ? keys.join('.') : '(top level)';
  const params = error.params as Record<string, unknown>;
  const misplaced = (error.parentSchema as { misplacedProperties?: Record<string, string> } | undefined)
    ?.misplacedProperties?.[String(params.additionalProperty)];
  const extra =
    error.keyword === 'additionalProperties'
      ? ` "${String(params.additionalProperty)}"${misplaced ? `: ${misplaced}` : ''}`
      : error.keyword === 'enum'
        ? `: ${(params.allowedValues as unknown[]).join(', ')}`
        : '';
  return `${path}:${line}: ${key}: ${error.message ?? 'invalid'}${extra}`;
}
