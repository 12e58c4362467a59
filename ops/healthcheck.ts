/**
 * The container's HEALTHCHECK: GET the admin port's /healthz with Node itself (the slim image has
 * no curl). Exit 0 when it answers 200, 1 otherwise, within 4 seconds. The URL can be changed
 * with PGVEIL_HEALTH_URL (default http://127.0.0.1:9187/healthz, the admin port's default).
 */
const url = process.env.PGVEIL_HEALTH_URL ?? 'http://127.0.0.1:9187/healthz';

fetch(url, { signal: AbortSignal.timeout(4000) }).then(
  (response) => process.exit(response.status === 200 ? 0 : 1),
  (error: unknown) => {
    process.stderr.write(`pgveil health check: ${url}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
