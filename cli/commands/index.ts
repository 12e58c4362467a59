/** Every sub-command, in the order `pgveil --help` lists them. */
import type { Command } from 'commander';
import { register as serve } from './serve';
import { register as demo } from './demo';

export function registerCommands(program: Command): void {
  for (const register of [serve, demo]) register(program);
}
