/**
 * YAML parsed with node positions and validated with a JSON Schema (ajv): every error names the
 * file, the line and the key at fault, and says what was expected.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { isNode, parseDocument, type Document } from 'yaml';

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });

export function compileSchema<T>(schema: object): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}

export function parseValidatedYaml<T>(path: string, text: string, validate: ValidateFunction<T>): T {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new ValidationError(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
  const value: unknown = doc.toJS() ?? {};
  if (!validate(value)) {
    const errors = validate.errors ?? [];
    // oneOf/anyOf report every branch; the most specific (deepest) errors say the most.
    const deepest = Math.max(...errors.map((e) => e.instancePath.length));
    const shown = errors.filter((e) => e.instancePath.length === deepest || e.keyword === 'additionalProperties');
    throw new ValidationError([...new Set(shown.map((e) => describe(path, doc, e, text)))].join('\n'));
  }
  return value;
}

function describe(path: string, doc: Document, error: ErrorObject, text: string): string {
  const keys = error.instancePath.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const node = doc.getIn(keys, true);
  const offset = isNode(node) && node.range ? node.range[0] : 0;
  const line = text.slice(0, offset).split('\n').length;
  const key = keys.length > 0 ? keys.join('.') : '(top level)';
  const params = error.params as Record<string, unknown>;
  const extra =
    error.keyword === 'additionalProperties' ? ` "${String(params.additionalProperty)}"` :
    error.keyword === 'enum' ? `: ${(params.allowedValues as unknown[]).join(', ')}` : '';
  return `${path}:${line}: ${key}: ${error.message ?? 'invalid'}${extra}`;
}
