/** Every sub-command, in the order `pgveil --help` lists them. */
import type { Command } from 'commander';
import { register as serve } from './serve';
import { register as demo } from './demo';
import { register as explain } from './explain';
import { register as user } from './user';
import { register as audit } from './audit';
import { register as grant } from './grant';
import { register as policy } from './policy';
import { register as provision } from './provision';
import { register as discover } from './discover';

export function registerCommands(program: Command): void {
  for (const register of [serve, demo, provision, discover, explain, policy, user, grant, audit]) register(program);
}
