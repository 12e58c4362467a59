/**
 * `pgveil audit verify FILE...`: checks the hash chain of an audit log, oldest file first, and with
 * `--checkpoints` that it still reaches and matches the checkpoints delivered outside it.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  anchorsOf,
  chainOrder,
  readCheckpoints,
  verifyAuditFiles,
  type AuditCheckpoint,
  type ChainAnchor,
} from '../../audit';

interface VerifyOptions {
  secretEnv?: string;
  checkpoints: string[];
  checkpoint: string[];
  log?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  const audit = program.command('audit').description('work with audit logs');
  audit
    .command('verify')
    .description('verify the hash chain of audit log files (give every rotated file), and its checkpoints')
    .argument('<files...>', 'audit log files')
    .option('--secret-env <name>', 'environment variable holding the audit key (when the log was keyed)')
    .option(
      '--checkpoints <file>',
      'events file (or file of checkpoints, one JSON per line) whose audit checkpoints the log must match; repeatable',
      collect,
      [],
    )
    .option('--checkpoint <json>', 'one checkpoint as JSON; repeatable', collect, [])
    .option('--log <name>', 'the log the checkpoints are for, when they name several')
    .action((files: string[], options: VerifyOptions) => {
      const secretText = options.secretEnv ? process.env[options.secretEnv] : undefined;
      if (options.secretEnv && !secretText) throw new Error(`environment variable "${options.secretEnv}" is not set`);
      const secret = secretText ? Buffer.from(secretText) : undefined;
      const fail = (why: string, records?: number): void => {
        process.stdout.write(`tampered: ${why}${records === undefined ? '' : ` (after ${records} good records)`}\n`);
        process.exitCode = 1;
      };
      let anchors: ChainAnchor[] = [];
      const given: AuditCheckpoint[] = [
        ...options.checkpoints.flatMap((path) => readCheckpoints(readFileSync(path, 'utf8'), path)),
        ...options.checkpoint.flatMap((json, i) => readCheckpoints(json, `--checkpoint #${i + 1}`)),
      ];
      if (options.checkpoints.length > 0 || options.checkpoint.length > 0) {
        const found = anchorsOf(given, secret, options.log);
        if ('problem' in found) return fail(found.problem);
        anchors = found.anchors;
      }
      const result = verifyAuditFiles(chainOrder(files), secret, anchors);
      if (!result.ok) return fail(result.problem ?? 'unknown problem', result.records);
      const latest = [...anchors].sort((a, b) => b.records - a.records)[0];
      process.stdout.write(
        `ok: ${result.records} records, chain intact${result.lastHash ? `, last hash ${result.lastHash}` : ''}` +
          (latest
            ? `; ${anchors.length} checkpoint${anchors.length === 1 ? '' : 's'} matched, the latest: ${latest.name}, at record ${latest.records}`
            : '') +
          '\n',
      );
    });
}
