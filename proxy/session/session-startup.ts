/**
 * A connection's way in: SSL and GSS negotiation, cancel requests, the startup packet,
 * authentication, the principal with its attributes, and the upstream connection opened for it.
 * Nothing of the analyst's reaches upstream before all of it succeeded.
 */
import type { SecureContext } from 'node:tls';
import { FrontendCode } from '../protocol/message-codes';
import type { FrontendDecoder, FrontendMessage } from '../protocol/frontend-decoder';
import { PgError, protocolViolation } from '../pg-error';
import { openUpstream, type UpstreamSession } from '../upstream/upstream-connection';
import type { UpstreamTarget } from '../upstream/upstream-target';
import type { ProxyOptions } from '../proxy-options';
import type { SessionEvent, SessionInfo } from '../statement-gate';
import { interpretStartup, type StartupRequest } from './startup-parameters';
import { ClientAuthentication } from './client-authentication';
import { parseSearchPath } from './search-path';
import { presentParameter } from './upstream-answers';
import * as write from '../protocol/message-writer';
import { adoptSession, type PooledUpstream, type PoolRegistry, type UpstreamPool } from '../pool';

type StartupPacket = NonNullable<ReturnType<FrontendDecoder['nextStartupPacket']>>;

export interface StartupHost {
  readonly options: ProxyOptions;
  readonly secureContext: SecureContext | undefined;
  /** Random per process: derives decoy SCRAM salts for unknown users. */
  readonly decoySecret: Buffer;
  readonly pools: PoolRegistry;
  readonly sessionId: string;
  clientAddress(): string;
  /** Set when the session is over a limit: it is refused right after its startup packet. */
  readonly rejection: PgError | undefined;
  tls(): boolean;
  /** Bytes the client sent that are not read yet. */
  bufferedInput(): number;
  write(data: Buffer): void;
  upgradeToTls(context: SecureContext): void;
  endStartupPhase(): void;
  cancel(processId: number, secretKey: number): void;
  close(): void;
  event(kind: SessionEvent['kind'], detail: string): void;
  fail(error: PgError, kind?: SessionEvent['kind']): void;
  closed(): boolean;
}

/** A session that may run statements: who it is, and its own upstream connection or its pool. */
export interface Established {
  readonly info: SessionInfo;
  readonly target: UpstreamTarget;
  readonly upstream: { readonly own: UpstreamSession } | { readonly pooled: PooledUpstream };
  /** What the greeting reports (upstream's ParameterStatus values). */
  readonly parameters: ReadonlyArray<readonly [string, string]>;
  /** The last authentication message, sent with the greeting. */
  readonly final: Buffer | undefined;
}

export class SessionStartup {
  request: StartupRequest | undefined;
  private auth: ClientAuthentication | undefined;

  constructor(private readonly host: StartupHost) {}

  /** True once the startup packet asked for authentication. */
  get authenticating(): boolean {
    return this.auth !== undefined;
  }

  packet(packet: StartupPacket): void {
    const host = this.host;
    switch (packet.kind) {
      case 'ssl-request':
        // Bytes sent in the clear behind an SSLRequest would be read as if they came over TLS
        // (the pattern of CVE-2021-23214): the client must wait for our answer.
        if (host.bufferedInput() > 0) throw protocolViolation('received unencrypted data after ssl request');
        if (host.secureContext && !host.tls()) {
          host.write(Buffer.from('S'));
          host.upgradeToTls(host.secureContext);
        } else host.write(Buffer.from('N'));
        return;
      case 'gssenc-request':
        host.write(Buffer.from('N'));
        return;
      case 'cancel-request':
        host.cancel(packet.processId, packet.secretKey);
        host.close();
        return;
      case 'startup':
        if (host.rejection) return host.fail(host.rejection, 'limit_exceeded');
        host.endStartupPhase();
        this.request = interpretStartup(packet.parameters);
        this.auth = new ClientAuthentication(host.options.identity, this.request.user, host.tls(), host.decoySecret);
        host.write(this.auth.begin());
        return;
    }
  }

  /**
   * One authentication message. Resolves to the established session once the user is known, their
   * principal resolved and upstream connected; undefined while the exchange goes on or when the
   * session failed (the host was told).
   */
  async authMessage(message: FrontendMessage): Promise<Established | undefined> {
    const host = this.host;
    const request = this.request;
    if (message.code !== FrontendCode.Password || !this.auth || !request)
      throw protocolViolation('expected an authentication response');
    const step = await this.auth.step(message);
    if (step.kind === 'continue') {
      host.write(step.reply);
      return undefined;
    }
    if (step.kind === 'failed') {
      host.event('auth_failure', step.reason);
      await delay(host.options.limits.authFailureDelayMs);
      host.fail(new PgError('28P01', `password authentication failed for user "${request.user}"`, 'FATAL'));
      return undefined;
    }
    this.auth = undefined;
    const target = host.options.route(request.database);
    if (!target) {
      host.fail(new PgError('3D000', `database "${request.database}" does not exist`, 'FATAL'));
      return undefined;
    }
    const resolved = await host.options.identity.resolvePrincipal(request.user, step.claims);
    if (!resolved.ok) {
      host.event('auth_failure', resolved.reason);
      host.fail(
        new PgError('28000', `attributes of user "${request.user}" are unavailable: ${resolved.reason}`, 'FATAL'),
      );
      return undefined;
    }
    host.event('auth_success', 'authenticated');
    const principal =
      request.purpose === undefined ? resolved.principal : { ...resolved.principal, purpose: request.purpose };
    const searchPath = parseSearchPath(request.upstream.get('search_path') ?? '"$user", public');
    if (searchPath.indexOf('pg_catalog') > 0) {
      host.fail(new PgError('42501', 'search_path must not place pg_catalog after other schemas', 'FATAL'));
      return undefined;
    }
    const info: SessionInfo = {
      sessionId: host.sessionId,
      principal,
      dataProduct: request.database,
      searchPath,
      applicationName: request.applicationName,
      clientAddress: host.clientAddress(),
    };
    let upstream: Established['upstream'];
    let parameters: ReadonlyArray<readonly [string, string]>;
    const pool = host.pools.poolFor(target);
    try {
      if (pool) {
        // Each borrow asks for the data product's pool anew: a reload may have replaced it (a
        // session of a product no longer pooled stays on the pool it started with).
        const currentPool = (): UpstreamPool => {
          const now = host.options.route(request.database);
          return (now && host.pools.poolFor(now)) || pool;
        };
        const adopted = await adoptSession(currentPool, request.upstream);
        upstream = { pooled: adopted.pooled };
        parameters = adopted.parameters;
      } else {
        const own = await openUpstream(target, request.upstream);
        upstream = { own };
        parameters = own.parameters;
      }
    } catch (error) {
      const failure =
        error instanceof PgError ? error : new PgError('08001', 'data product upstream is unavailable', 'FATAL');
      // A pool that stayed busy is a limit; a startup setting upstream rejects is the client's error.
      if (failure.sqlstate === '53300') host.event('limit_exceeded', failure.message);
      else if (failure.sqlstate.startsWith('08')) host.event('upstream_failure', failure.message);
      host.fail(failure);
      return undefined;
    }
    if (host.closed()) {
      if ('own' in upstream) upstream.own.socket.destroy();
      return undefined;
    }
    return { info, target, upstream, parameters, final: step.final };
  }
}

/** What PostgreSQL sends once a session is open; the analyst sees their own name, never the service account's. */
export function greeting(
  final: Buffer | undefined,
  parameters: Iterable<readonly [string, string]>,
  user: string,
  processId: number,
  secretKey: number,
): Buffer {
  const frames: Buffer[] = final ? [final, write.authenticationOk()] : [write.authenticationOk()];
  for (const [name, value] of parameters) frames.push(presentParameter(name, value, user));
  frames.push(write.backendKeyData(processId, secretKey), write.readyForQuery(0x49));
  return Buffer.concat(frames);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
