#!/usr/bin/env node
/** pgveil's command line: one sub-command per file in cli/commands/, registered here. */
import { Command } from 'commander';
import { registerCommands } from './commands';
import packageJson from '../package.json';

const program = new Command('pgveil')
  .description('PostgreSQL wire-protocol proxy that masks, hashes and filters data-product columns and rows by policy')
  .version(packageJson.version)
  .showHelpAfterError();

registerCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`pgveil: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
