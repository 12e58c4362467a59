/** The admin port: /metrics for Prometheus, /healthz (the process answers) and /readyz (it can serve). */
import { createServer, type Server } from 'node:http';
import type { PgveilMetrics } from './metrics';

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<boolean>;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Operator actions on POST, e.g. `/catalog/refresh` after DDL on a data product. */
export type AdminActions = Readonly<Record<string, () => Promise<unknown>>>;

export async function startAdminServer(host: string, port: number, metrics: PgveilMetrics, readiness: readonly ReadinessCheck[], actions: AdminActions = {}): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json'): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const action = req.method === 'POST' ? actions[req.url ?? ''] : undefined;
    if (action) {
      void action().then((result) => send(200, JSON.stringify({ status: 'ok', result })), (error: Error) => send(500, JSON.stringify({ status: 'failed', error: error.message })));
      return;
    }
    if (req.method !== 'GET') return send(405, '{"error":"method not allowed"}');
    if (req.url === '/metrics') {
      void metrics.registry.metrics().then((text) => send(200, text, metrics.registry.contentType), () => send(500, '{"error":"metrics unavailable"}'));
      return;
    }
    if (req.url === '/healthz') return send(200, '{"status":"ok"}');
    if (req.url === '/readyz') {
      void Promise.all(readiness.map(async (r) => [r.name, await r.check().catch(() => false)] as const)).then((results) => {
        const checks = Object.fromEntries(results);
        const ready = results.every(([, ok]) => ok);
        send(ready ? 200 : 503, JSON.stringify({ status: ready ? 'ready' : 'not ready', checks }));
      });
      return;
    }
    send(404, '{"error":"not found"}');
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
