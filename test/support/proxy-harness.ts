/**
 * A proxy in front of the machine's PostgreSQL with a pass-through gate (no rewrite), for tests of
 * the protocol layer. Statements containing PGVEIL_REFUSE are refused, to test refusal handling.
 */
import {
  createProxyServer,
  createScramVerifier,
  DEFAULT_LIMITS,
  type ProxyLimits,
  type ProxyOptions,
  type ProxyServer,
  type StatementObserver,
  type StatementRecord,
  type SessionEvent,
} from '../../proxy';
import type { IdentityProvider } from '../../policies/identity';
import type { RewriteOutcome } from '../../rewriter/rewrite-types';
import { PG_HOST, PG_PORT, PG_SUPERUSER } from './postgres';

export const REFUSE_MARKER = 'PGVEIL_REFUSE';

export interface ProxyHarness {
  readonly server: ProxyServer;
  readonly port: number;
  readonly records: StatementRecord[];
  readonly events: SessionEvent[];
  /** SQL texts the gate let through, as sent upstream. */
  readonly forwarded: string[];
  stop(): Promise<void>;
}

const verifiers = new Map([
  ['analyst', createScramVerifier('analyst')],
  ['steward', createScramVerifier('steward')],
]);

const testIdentity: IdentityProvider = {
  scramVerifier: (user) => verifiers.get(user),
  tokensEnabled: false,
  verifyToken: async () => ({ ok: false, reason: 'tokens are not configured' }),
  resolvePrincipal: async (user) => ({ ok: true, principal: { user, groups: [], attributes: {} } }),
};

export interface ProxyHarnessOptions {
  readonly limits?: Partial<ProxyLimits>;
  readonly tls?: { cert: string; key: string };
  /** Replaces the route to the test database (an unreachable upstream, say). */
  readonly route?: ProxyOptions['route'];
  /** Replaces the recording observer (records and events then stay empty). */
  readonly observer?: StatementObserver;
}

export async function startProxyHarness(database: string, options: ProxyHarnessOptions = {}): Promise<ProxyHarness> {
  const records: StatementRecord[] = [];
  const events: SessionEvent[] = [];
  const forwarded: string[] = [];
  const server = createProxyServer({
    host: '127.0.0.1',
    port: 0,
    tls: options.tls,
    limits: { ...DEFAULT_LIMITS, authFailureDelayMs: 50, ...options.limits },
    identity: testIdentity,
    route:
      options.route ??
      ((db) => (db === database ? { host: PG_HOST, port: PG_PORT, database, user: PG_SUPERUSER } : undefined)),
    gate: {
      check: (sql): RewriteOutcome => {
        if (sql.includes(REFUSE_MARKER)) {
          return {
            kind: 'refusal',
            sqlstate: '42501',
            message: `statement refused by test rule: "${REFUSE_MARKER}"`,
            reasons: ['statement_class'],
            policyVersion: 'test',
          };
        }
        forwarded.push(sql);
        return {
          kind: 'plan',
          sql,
          statementCount: 1,
          rewritten: false,
          relations: [],
          reasons: [],
          effects: [],
          policyVersion: 'test',
          stamp: 'test',
        };
      },
      // Nothing this gate decides ever changes.
      stamp: () => 'test',
    },
    observer: options.observer ?? {
      statementFinished: (r) => void records.push(r),
      sessionEvent: (e) => void events.push(e),
      readyForStatements: () => true,
    },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  const { port } = await server.listen();
  return { server, port, records, events, forwarded, stop: () => server.close() };
}
