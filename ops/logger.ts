/**
 * Structured JSON logs (pino). Whatever a log call is handed, fields that can hold secrets are
 * redacted: passwords, tokens, keys, secrets, verifiers — at the top level and one level down.
 */
import pino, { type Logger } from 'pino';

const SECRET_FIELDS = ['password', 'passwd', 'secret', 'token', 'key', 'hashKey', 'verifier', 'authorization'];

export const REDACTED_PATHS = [...SECRET_FIELDS, ...SECRET_FIELDS.map((f) => `*.${f}`)];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: 'pgveil' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    destination,
  );
}
