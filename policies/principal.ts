/**
 * Who is asking. Built by the proxy after authentication from the users file, token claims and
 * Redis attributes; policies only ever read it.
 */
export type AttributeValue = string | readonly string[];

export interface Principal {
  readonly user: string;
  readonly groups: readonly string[];
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** Declared per session (startup option `pgveil.purpose` or `SET pgveil.purpose`). */
  readonly purpose?: string;
}
