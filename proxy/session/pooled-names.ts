/**
 * Transaction pooling names a client's prepared statements upstream by their content (the text
 * pgveil sends and its parameter types), as PgBouncer and PgDog do: two clients preparing the
 * same statement share it on a connection, and no client's name can reach another client's
 * statement. The text holds the whole decision (masks and filters are written into it), so two
 * principals with different decisions never share one.
 */
import { createHash } from 'node:crypto';

export function contentName(text: string, parameterTypes: Buffer): string {
  const digest = createHash('sha256').update(text).update('\0').update(parameterTypes).digest('base64url');
  return `pgveil_${digest.slice(0, 43)}`;
}
