/** `pgveil provision --config FILE [--product NAME] [--dry-run]`: set up each data product's upstream. */
import type { Command } from 'commander';
import { loadServerConfig } from '../config/load-server-config';
import { adminLoginFrom } from '../provision/admin-login';
import { formatProvisionResult, provisionConfigured } from '../provision/provision-configured';

export function register(program: Command): void {
  program
    .command('provision')
    .description(
      "set up each data product's upstream: the service account's grants, the helper schema and its key, function privileges (idempotent)",
    )
    .requiredOption('-c, --config <file>', 'pgveil.yaml')
    .option('-p, --product <name>', 'only this data product')
    .option('--dry-run', 'print the SQL without changing anything')
    .option('--admin-user <name>', 'the upstream administrator to connect as (default: $PGUSER, else postgres)')
    .option('--admin-password-file <file>', "a file holding the administrator's password (default: $PGPASSWORD)")
    .action(
      async (options: {
        config: string;
        product?: string;
        dryRun?: boolean;
        adminUser?: string;
        adminPasswordFile?: string;
      }) => {
        const dryRun = options.dryRun === true;
        const results = await provisionConfigured(loadServerConfig(options.config), {
          admin: adminLoginFrom(options),
          dryRun,
          ...(options.product !== undefined ? { product: options.product } : {}),
        });
        for (const result of results) process.stdout.write(formatProvisionResult(result, dryRun));
      },
    );
}
