/** `pgveil serve --config FILE`: run against the upstreams the policy files declare. */
import type { Command } from 'commander';
import { loadServerConfig } from '../config/load-server-config';
import { startPgveil, type RunningPgveil } from '../runtime/start-pgveil';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the proxy with a configuration file')
    .requiredOption('-c, --config <file>', 'pgveil.yaml')
    .action(async (options: { config: string }) => {
      const running = await startPgveil(loadServerConfig(options.config));
      stopOnSignals(running);
      reloadOnHangup(running);
    });
}

/**
 * SIGTERM drains (no new sessions, running statements finish, then exit); a second signal, or
 * SIGINT twice, exits at once.
 */
export function stopOnSignals(running: RunningPgveil, afterStop: () => Promise<void> = async () => undefined): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    running.log.info({ signal }, 'draining: no new sessions, waiting for running statements');
    void running
      .drain()
      .then(afterStop)
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        running.log.error({ err: error }, 'stop failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** SIGHUP loads the policy files now, as PostgreSQL reloads its configuration. */
export function reloadOnHangup(running: RunningPgveil): void {
  process.on('SIGHUP', () => {
    running.log.info({}, 'SIGHUP: reloading policy files');
    running.policies.reload();
  });
}
