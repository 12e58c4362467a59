/**
 * The listener: accepts analysts, enforces the connection limit, routes CancelRequests to the one
 * session they name, and drains on request (no new sessions, running statements finish).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { PgError } from './pg-error';
import type { ProxyOptions } from './proxy-options';
import { ClientSession, type SessionHost } from './session/client-session';
import { PoolRegistry } from './pool';

export interface ProxyServer {
  listen(): Promise<{ port: number }>;
  /** Stops accepting, waits for running statements (at most `timeoutMs`), then ends every session. */
  drain(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
  readonly activeSessions: number;
  /** Transaction pools: connections and waiting clients per upstream. */
  poolStats(): Array<{ upstream: string; open: number; idle: number; waiting: number }>;
}

export function createProxyServer(options: ProxyOptions): ProxyServer {
  const secureContext: SecureContext | undefined = options.tls
    ? createSecureContext({ cert: options.tls.cert, key: options.tls.key })
    : undefined;
  const sockets = new Set<ClientSession>();
  const byKey = new Map<string, ClientSession>();
  const keyOf = (pid: number, secret: number): string => `${pid}:${secret}`;
  const pools = new PoolRegistry();

  const host: SessionHost = {
    options,
    secureContext,
    decoySecret: options.decoySecret ?? randomBytes(32),
    pools,
    register: (s) => byKey.set(keyOf(s.processId, s.secretKey), s),
    unregister: (s) => {
      sockets.delete(s);
      byKey.delete(keyOf(s.processId, s.secretKey));
    },
    // A cancel names a session by our key; anything else cancels nothing, as in PostgreSQL.
    cancel: (pid, secret) => byKey.get(keyOf(pid, secret))?.cancelRequested(),
  };

  const server: Server = createServer((socket: Socket) => {
    socket.on('error', () => socket.destroy());
    // Over the limit: PostgreSQL reads the startup packet first and then answers 53300; clients expect that.
    const overLimit = sockets.size >= options.limits.maxClientConnections;
    const session = new ClientSession(
      socket,
      host,
      overLimit ? new PgError('53300', 'sorry, too many clients already', 'FATAL') : undefined,
    );
    if (!overLimit) sockets.add(session);
    return;
  });

  return {
    get activeSessions() {
      return sockets.size;
    },
    poolStats: () => pools.stats(),
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          const address = server.address();
          resolve({ port: typeof address === 'object' && address ? address.port : options.port });
        });
      }),
    async drain(timeoutMs = 30_000) {
      server.close();
      const deadline = Date.now() + timeoutMs;
      for (const s of sockets) s.drain();
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const s of sockets) s.close();
      pools.close();
    },
    async close() {
      for (const s of sockets) s.close();
      pools.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
