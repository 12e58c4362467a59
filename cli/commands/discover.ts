/**
 * `pgveil discover --config FILE [--product NAME] [--json] [--write | --sql]`: sample every relation
 * of the data products through their service accounts, classify every column, and print proposed
 * tags with confidence and evidence (never a value); write the accepted ones into the policy file,
 * or print COMMENT ON COLUMN statements for the data owner.
 */
import type { Command } from 'commander';
import { loadServerConfig } from '../config/load-server-config';
import { initRewriter } from '../../rewriter';
import { loadPolicyFiles } from '../../policies';
import { BUILTIN_CLASSIFIERS } from '../../discovery';
import { customClassifiersOf } from '../../discovery';
import { discoverProduct } from '../../discovery';
import { formatReport, progressLine } from '../../discovery';
import { commentStatements, planTagWrites, writeTagPlan } from '../../discovery';
import { newTags, type DiscoveryReport } from '../../discovery';

interface DiscoverOptions {
  config: string;
  product?: string;
  json?: boolean;
  write?: boolean;
  sql?: boolean;
  overwrite?: boolean;
  declareTags?: boolean;
  minConfidence?: string;
  rows?: string;
  failOnUntagged?: boolean;
}

export function register(program: Command): void {
  program
    .command('discover')
    .description('find sensitive columns: sample every relation of a data product, classify, propose tags')
    .requiredOption('-c, --config <file>', 'pgveil.yaml')
    .option('-p, --product <name>', 'one data product (default: every one declared)')
    .option('--json', 'print the report as JSON (no progress bar)')
    .option('--write', 'record the proposed tags of untagged columns in the policy file declaring the data product')
    .option('--sql', 'print COMMENT ON COLUMN statements setting pgveil:tags= instead')
    .option('--overwrite', 'with --write or --sql: also replace the tags of columns that carry some already')
    .option('--declare-tags', 'with --write: add proposed tags missing from the tag taxonomy to its "tags:" list')
    .option(
      '--min-confidence <n>',
      'proposals below this confidence are not shown nor written (default: discovery.minConfidence)',
    )
    .option('--rows <n>', 'rows sampled per relation at most (default: discovery.rows)')
    .option('--fail-on-untagged', 'exit 3 when a column without tags gets a proposal (for CI)')
    .action(async (options: DiscoverOptions) => {
      await initRewriter();
      const config = loadServerConfig(options.config);
      const bundle = loadPolicyFiles(config.policies);
      const builtin = new Set(BUILTIN_CLASSIFIERS.map((c) => c.id));
      const classifiers = [...BUILTIN_CLASSIFIERS, ...customClassifiersOf(config.policies, builtin)];
      const names = options.product ? [options.product] : [...bundle.dataProducts.keys()];
      const minConfidence =
        options.minConfidence !== undefined ? Number(options.minConfidence) : config.discovery.minConfidence;
      if (!(minConfidence >= 0 && minConfidence <= 1))
        throw new Error(`--min-confidence "${options.minConfidence}" is not a number between 0 and 1`);
      const rows = options.rows !== undefined ? Number(options.rows) : config.discovery.rows;
      if (!Number.isInteger(rows) || rows < 1)
        throw new Error(`--rows "${options.rows}" is not a positive whole number`);
      if (options.write && options.sql)
        throw new Error('--write and --sql are two forms of the same result: choose one');
      const tty = process.stderr.isTTY === true && !options.json;
      const reports: DiscoveryReport[] = [];
      for (const name of names) {
        const product = bundle.dataProducts.get(name);
        if (!product) throw new Error(`data product "${name}" is not declared in the policy files`);
        const report = await discoverProduct(product, {
          classifiers,
          rows,
          maxValueChars: config.discovery.maxValueChars,
          statementTimeoutMs: config.discovery.statementTimeoutMs,
          budgetMs: config.discovery.budgetSeconds * 1000,
          minConfidence,
          excludeSchemas: [config.helperSchema],
          ...(tty
            ? {
                onProgress: (done: number, total: number, relation: string) =>
                  process.stderr.write(progressLine(done, total, `${name}: ${relation}`)),
              }
            : {}),
        });
        if (tty) process.stderr.write('\r\x1b[K');
        reports.push(report);
      }
      if (options.json)
        process.stdout.write(
          `${JSON.stringify(options.write || options.sql ? { reports } : reports.length === 1 ? reports[0] : reports, null, 2)}\n`,
        );
      else for (const r of reports) process.stdout.write(`${formatReport(r)}\n`);
      if (options.write || options.sql) {
        for (const name of names) {
          const plan = planTagWrites(reports, name, bundle.set.taxonomy, {
            minConfidence,
            overwrite: options.overwrite === true,
            declareTags: options.declareTags === true,
          });
          const out = options.json ? process.stderr : process.stdout;
          for (const where of plan.alreadyTagged)
            out.write(`left alone (already tagged; --overwrite to replace): ${where}\n`);
          for (const view of plan.views ?? [])
            out.write(`not written: ${view} is a view, protected through the relations it reads: tag their columns\n`);
          for (const [tag, columns] of plan.undeclared) {
            out.write(
              options.declareTags
                ? `declared in the tag taxonomy: ${tag}\n`
                : `not written: tag "${tag}" is not in the tag taxonomy (add it to "tags:" or use --declare-tags): ${columns.join(', ')}\n`,
            );
          }
          if (options.sql) {
            const comments = new Map(
              reports.flatMap((r) =>
                r.relations.flatMap((rel) =>
                  rel.columns.map((c) => [`${rel.schema}.${rel.name}.${c.name}`, c.comment] as const),
                ),
              ),
            );
            for (const statement of commentStatements(plan, comments)) process.stdout.write(`${statement}\n`);
          } else if (plan.writes.length > 0) {
            const file = writeTagPlan(config.policies, name, plan, options.declareTags === true);
            out.write(`wrote tags for ${plan.writes.length} column(s) of data product ${name} into ${file}\n`);
          } else {
            out.write(`nothing to write for data product ${name}\n`);
          }
        }
      }
      // A plain view is protected through the relations it reads (--write, lint and events skip it
      // too): its proposals must not fail CI once its base columns are tagged.
      const untagged = reports.some((r) =>
        r.relations.some(
          (rel) => rel.kind !== 'v' && rel.columns.some((c) => c.tags.length === 0 && newTags(c).length > 0),
        ),
      );
      if (options.failOnUntagged && untagged) process.exitCode = 3;
    });
}
