/**
 * The admin port: /metrics for Prometheus, /healthz (the process answers) and /readyz (it can serve),
 * and operator actions on POST. Reads are open to whoever reaches the port, which is why it binds
 * 127.0.0.1 unless configured otherwise; actions change what the proxy does, so they need the
 * bearer token, and without a configured token there are no actions at all. The data product
 * catalog (catalog/, docs/catalog.md) is mounted under /catalog and needs the token too.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { PgveilMetrics } from './metrics';
import { bearerTokenMatches } from './bearer-token';

/** One line of /readyz, computed from state the process keeps (no I/O per probe). */
export interface ReadinessCheck {
  readonly name: string;
  readonly ok: boolean;
  /** Why it is not ok (never a credential). */
  readonly detail?: string;
}

export interface AdminServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Operator actions on POST, e.g. `/catalog/refresh` after DDL on a data product. */
export type AdminActions = Readonly<Record<string, () => Promise<unknown>>>;

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  readonly metrics: PgveilMetrics;
  /** Asked on every GET /readyz: the checks of the running configuration, reloads included. */
  readonly readiness: () => readonly ReadinessCheck[];
  readonly actions?: AdminActions;
  /** Bearer token that POST actions require. Undefined: actions are disabled. */
  readonly token?: string;
  /** A POST refused for want of the right token (for the log and security events). */
  readonly onDenied?: (request: { readonly path: string; readonly client: string; readonly reason: string }) => void;
  /** The data product catalog (catalog/): every request under /catalog except the POST actions above. */
  readonly catalog?: (req: IncomingMessage, res: ServerResponse) => void;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { metrics, readiness, actions = {}, token } = options;
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const path = req.url ?? '';
    if (options.catalog && /^\/catalog(\/|\?|$)/.test(path) && !(req.method === 'POST' && actions[path]))
      return options.catalog(req, res);
    if (req.method === 'POST') {
      const refusal = authorize(req, token);
      if (refusal) {
        options.onDenied?.({ path, client: req.socket.remoteAddress ?? '', reason: refusal.reason });
        return send(
          refusal.status,
          { error: refusal.reason },
          refusal.status === 401 ? { 'www-authenticate': 'Bearer realm="pgveil-admin"' } : {},
        );
      }
      const action = actions[path];
      if (!action) return send(404, { error: `no admin action "${path}"` });
      void action().then(
        (result) => send(200, { status: 'ok', result }),
        (error: Error) => send(500, { status: 'failed', error: error.message }),
      );
      return;
    }
    if (req.method !== 'GET') return send(405, { error: 'method not allowed' });
    if (path === '/metrics') {
      void metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        () => send(500, { error: 'metrics unavailable' }),
      );
      return;
    }
    if (path === '/healthz') return send(200, { status: 'ok' });
    if (path === '/readyz') {
      const results = readiness();
      const ready = results.every((r) => r.ok);
      const problems = Object.fromEntries(results.filter((r) => !r.ok && r.detail).map((r) => [r.name, r.detail]));
      return send(ready ? 200 : 503, {
        status: ready ? 'ready' : 'not ready',
        checks: Object.fromEntries(results.map((r) => [r.name, r.ok])),
        ...(Object.keys(problems).length > 0 ? { problems } : {}),
      });
    }
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) =>
    server.once('error', reject).listen(options.port, options.host, resolve),
  );
  const address = server.address();
  return {
    host: typeof address === 'object' && address ? address.address : options.host,
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function authorize(
  req: IncomingMessage,
  token: string | undefined,
): { readonly status: 401 | 403; readonly reason: string } | undefined {
  if (token === undefined)
    return { status: 403, reason: 'admin actions are disabled: no admin token is configured (admin.tokenEnv)' };
  const header = req.headers.authorization;
  if (header === undefined) return { status: 401, reason: 'admin actions need "authorization: bearer <token>"' };
  const match = /^bearer +(\S+)\s*$/i.exec(header);
  if (!match || !bearerTokenMatches(match[1]!, token)) return { status: 401, reason: 'invalid admin token' };
  return undefined;
}
