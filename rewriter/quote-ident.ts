/** Identifier quoting for names chosen by pgveil's own configuration (roles, schemas), never analyst input. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
