/** Reads and validates pgveil.yaml; every error names the file, line and key at fault. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import schema from './server-config-schema.json';
import type { ServerConfig, EventSinkConfig } from './server-config';
import { compileSchema, parseValidatedYaml, ValidationError } from '../../policies';

const validate = compileSchema<ServerConfig>(schema);

export function loadServerConfig(file: string): ServerConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(`cannot read configuration "${path}": ${(error as Error).message}`);
  }
  return {
    ...withRedisPassword(resolvePaths(parseValidatedYaml(path, text, validate), dirname(path)), process.env),
    file: path,
  };
}

/**
 * Redis's password comes from the environment (a Kubernetes Secret), never from the file: it is put
 * into the connection URL here, so `serve` and the grant commands connect alike. Commands that do not
 * use Redis (provision, explain) run without it; `serve` refuses to start without it
 * (missingRedisPassword).
 */
function withRedisPassword(config: ServerConfig, env: NodeJS.ProcessEnv): ServerConfig {
  const name = config.redis?.passwordEnv;
  if (!config.redis || name === undefined) return config;
  const password = env[name];
  if (password === undefined || password === '') return config;
  const url = new URL(config.redis.url);
  url.password = password;
  return { ...config, redis: { ...config.redis, url: url.toString() } };
}

function resolvePaths(config: ServerConfig, base: string): ServerConfig {
  const at = (p: string): string => resolve(base, p);
  const sinks = config.events.sinks.map((s): EventSinkConfig => (s.type === 'file' ? { ...s, path: at(s.path) } : s));
  return {
    ...config,
    tls: config.tls ? { cert: at(config.tls.cert), key: at(config.tls.key) } : undefined,
    policies: config.policies.map(at),
    ...(config.tokens
      ? {
          tokens: {
            ...config.tokens,
            ...(config.tokens.keyFile ? { keyFile: at(config.tokens.keyFile) } : {}),
            ...(config.tokens.jwksFile ? { jwksFile: at(config.tokens.jwksFile) } : {}),
          },
        }
      : {}),
    audit: { ...config.audit, file: at(config.audit.file) },
    events: { sinks },
  };
}

/** Why a configuration that names a Redis password cannot connect with it, if so. */
export function missingRedisPassword(config: ServerConfig, env: NodeJS.ProcessEnv): string | undefined {
  const name = config.redis?.passwordEnv;
  if (name === undefined || (env[name] ?? '') !== '') return undefined;
  return `redis.passwordEnv names "${name}", which is not set`;
}
