/** Reads and validates pgveil.yaml; every error names the file, line and key at fault. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { parseDocument, isNode, type Document } from 'yaml';
import schema from './server-config-schema.json';
import type { ServerConfig, EventSinkConfig } from './server-config';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validate = ajv.compile<ServerConfig>(schema);

export function loadServerConfig(file: string): ServerConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read configuration "${path}": ${(error as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  const value: unknown = doc.toJS() ?? {};
  if (!validate(value)) {
    throw new ConfigError((validate.errors ?? []).map((e) => describeError(path, doc, e, text)).join('\n'));
  }
  return resolvePaths(value, dirname(path));
}

function describeError(path: string, doc: Document, error: ErrorObject, text: string): string {
  const keys = error.instancePath.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const node = doc.getIn(keys, true);
  const offset = isNode(node) && node.range ? node.range[0] : 0;
  const line = text.slice(0, offset).split('\n').length;
  const key = keys.length > 0 ? keys.join('.') : '(top level)';
  const extra = error.keyword === 'additionalProperties' ? ` "${String(error.params.additionalProperty)}"` : '';
  return `${path}:${line}: ${key}: ${error.message ?? 'invalid'}${extra}`;
}

function resolvePaths(config: ServerConfig, base: string): ServerConfig {
  const at = (p: string): string => resolve(base, p);
  const sinks = config.events.sinks.map((s): EventSinkConfig => (s.type === 'file' ? { ...s, path: at(s.path) } : s));
  return {
    ...config,
    tls: config.tls ? { cert: at(config.tls.cert), key: at(config.tls.key) } : undefined,
    policies: config.policies.map(at),
    audit: { ...config.audit, file: at(config.audit.file) },
    events: { sinks },
  };
}
