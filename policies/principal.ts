/**
 * Who is asking. Built by the proxy after authentication from the users file, token claims and
 * Redis attributes; policies only ever read it.
 */
export type AttributeValue = string | readonly string[];

/** Where a lasting attribute value or a group came from. */
export type AttributeSource = 'users-file' | 'token' | 'redis';

/** A just-in-time grant in force: it adds `value` to `attribute` until `expiresAt` (epoch ms). */
export interface GrantInForce {
  readonly attribute: string;
  readonly value: string;
  readonly expiresAt: number;
}

/**
 * Where the principal's attributes and groups came from, so that the audit record can say why a
 * rule applied. Policies never read it: decisions depend only on the values.
 */
export interface PrincipalProvenance {
  /** Source of each attribute's lasting value (an attribute only granted has no entry). */
  readonly attributes: Readonly<Record<string, AttributeSource>>;
  readonly groups: Readonly<Record<string, AttributeSource>>;
  /** Grants whose values are part of `attributes` now. */
  readonly grants: readonly GrantInForce[];
}

export interface Principal {
  readonly user: string;
  readonly groups: readonly string[];
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** Declared per session (startup option `pgveil.purpose` or `SET pgveil.purpose`). */
  readonly purpose?: string;
  /** Set by the identity provider; absent for principals built elsewhere (tests, tools). */
  readonly provenance?: PrincipalProvenance;
  /**
   * What the login's signed token said (mapped claims), kept so that the rest can be rebuilt from
   * the users file of whatever policy version is running when a statement is decided.
   */
  readonly token?: {
    readonly attributes: Readonly<Record<string, AttributeValue>>;
    readonly groups: readonly string[];
  };
}
