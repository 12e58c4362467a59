/** `pgveil audit verify FILE...`: checks the hash chain of an audit log, oldest file first. */
import type { Command } from 'commander';
import { chainOrder, verifyAuditFiles } from '../../audit';

export function register(program: Command): void {
  const audit = program.command('audit').description('work with audit logs');
  audit
    .command('verify')
    .description('verify the hash chain of audit log files (give rotated files oldest first)')
    .argument('<files...>', 'audit log files')
    .option('--secret-env <name>', 'environment variable holding the chain secret (when the log was keyed)')
    .action((files: string[], options: { secretEnv?: string }) => {
      const secret = options.secretEnv ? process.env[options.secretEnv] : undefined;
      if (options.secretEnv && !secret) throw new Error(`environment variable "${options.secretEnv}" is not set`);
      const result = verifyAuditFiles(chainOrder(files), secret ? Buffer.from(secret) : undefined);
      if (result.ok) process.stdout.write(`ok: ${result.records} records, chain intact${result.lastHash ? `, last hash ${result.lastHash}` : ''}\n`);
      else {
        process.stdout.write(`tampered: ${result.problem} (after ${result.records} good records)\n`);
        process.exitCode = 1;
      }
    });
}
