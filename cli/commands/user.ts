/** `pgveil user verifier`: a SCRAM-SHA-256 verifier for the users section of a policy file. */
import type { Command } from 'commander';
import { createScramVerifier } from '../../proxy';

export function register(program: Command): void {
  const user = program.command('user').description('manage analyst credentials');
  user
    .command('verifier')
    .description('print a SCRAM-SHA-256 verifier for a password (read from standard input when not given)')
    .argument('[password]', 'the password; prefer standard input, which stays out of shell history')
    .option('--iterations <n>', 'PBKDF2 iterations', '4096')
    .action(async (password: string | undefined, options: { iterations: string }) => {
      const secret = password ?? (await readStdin()).replace(/\r?\n$/, '');
      if (secret.length === 0) throw new Error('empty password');
      process.stdout.write(`${createScramVerifier(secret, Number(options.iterations))}\n`);
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
