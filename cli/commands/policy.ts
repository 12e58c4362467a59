/** `pgveil policy lint|test` and `pgveil access-matrix`: tools for policy authors. */
import type { Command } from 'commander';
import { loadServerConfig } from '../config/load-server-config';
import { loadPolicyFiles, type PolicyBundle } from '../../policies';
import { fileTags, lintPolicies } from '../../policies';
import { runPolicyTests } from '../../policies';
import { accessMatrix, formatAccessMatrix } from '../../policies';
import { commentTags } from '../../policies';
import type { RelationRef } from '../../policies';
import { CatalogCache } from '../runtime/catalog-cache';
import { upstreamTargetOf } from '../runtime/upstream-target-of';
import { userRelations } from '../../catalog';
import { untaggedColumns } from '../../discovery';

/** The user relations of every declared data product, read from their upstream catalogs. */
async function upstreamRelations(bundle: PolicyBundle, helperSchema: string): Promise<RelationRef[]> {
  const catalogs = new CatalogCache((name) => {
    const product = bundle.dataProducts.get(name);
    return product ? upstreamTargetOf(product) : undefined;
  }, 60);
  const out: RelationRef[] = [];
  // The catalog page's access matrix reads the same relations: one list, so the two cannot differ.
  for (const dataProduct of bundle.dataProducts.keys())
    out.push(...userRelations(dataProduct, await catalogs.get(dataProduct), helperSchema));
  return out.sort((a, b) =>
    `${a.dataProduct}.${a.schema}.${a.name}`.localeCompare(`${b.dataProduct}.${b.schema}.${b.name}`),
  );
}

export function register(program: Command): void {
  const policy = program.command('policy').description('tools for policy authors');
  policy
    .command('lint')
    .description('list conflicts, shadowed rules, tags that no column carries and sensitive columns no tag covers')
    .argument('[files...]', 'policy files (default: those of --config)')
    .option('-c, --config <file>', 'also read column tags from the upstream catalogs of this configuration')
    .option('--warn-only', 'exit 0 even when there are findings')
    .option('--no-discover', 'with --config: do not sample the data products for sensitive columns no tag covers')
    .action(async (files: string[], options: { config?: string; warnOnly?: boolean; discover: boolean }) => {
      const config = options.config ? loadServerConfig(options.config) : undefined;
      if (files.length === 0 && !config) throw new Error('policy lint: name policy files or --config');
      const bundle = loadPolicyFiles(files.length > 0 ? files : config!.policies);
      const tags = fileTags(bundle);
      if (config) {
        for (const r of await upstreamRelations(bundle, config.helperSchema))
          for (const c of r.columns) for (const t of commentTags(c.comment)) tags.add(t);
      }
      const findings = lintPolicies(bundle, tags);
      // A column that looks sensitive but carries no tag is what a tag-keyed policy cannot protect.
      if (config && options.discover) {
        const scan = await untaggedColumns(bundle, config.policies, config.discovery, config.helperSchema);
        for (const u of scan.columns) {
          findings.push({
            kind: 'untagged_sensitive',
            message: `column "${u.column}" looks like ${u.proposedTags.join(', ')} (confidence ${u.confidence.toFixed(2)}, ${u.classifier}) but no tag covers it: tag it (pgveil discover --write) or no tag rule reaches it`,
          });
        }
        for (const u of scan.unsampled) process.stderr.write(`discovery could not sample ${u}\n`);
      }
      for (const f of findings) process.stdout.write(`${f.kind}: ${f.message}\n`);
      process.stdout.write(`${findings.length} finding(s) in policy version ${bundle.version}\n`);
      // Findings fail the command so that CI catches them; --warn-only is for looking around.
      if (findings.length > 0 && !options.warnOnly) process.exitCode = 1;
    });
  policy
    .command('test')
    .description('run policy test cases (principal + relation -> expected actions and rows)')
    .argument('<file>', 'test file (YAML)')
    .action((file: string) => {
      const results = runPolicyTests(file);
      for (const r of results)
        process.stdout.write(
          `${r.passed ? 'ok  ' : 'FAIL'} ${r.name}${r.problems.map((p) => `\n     ${p}`).join('')}\n`,
        );
      const failed = results.filter((r) => !r.passed).length;
      process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
      if (failed > 0) process.exitCode = 1;
    });
  program
    .command('access-matrix')
    .description('print who sees what: the users of the policy files x the columns of every data product')
    .requiredOption('-c, --config <file>', 'pgveil.yaml')
    .option('--json', 'print JSON')
    .option('--no-discover', 'do not sample the data products for sensitive columns no tag covers')
    .action(async (options: { config: string; json?: boolean; discover: boolean }) => {
      const config = loadServerConfig(options.config);
      const bundle = loadPolicyFiles(config.policies);
      const profiles = [...bundle.users.values()].map((u) => ({
        name: u.name,
        principal: { user: u.name, groups: u.groups ?? [], attributes: u.attributes ?? {} },
      }));
      const untagged = options.discover
        ? (await untaggedColumns(bundle, config.policies, config.discovery, config.helperSchema)).columns
        : undefined;
      const matrix = accessMatrix(
        bundle.snapshot,
        profiles,
        await upstreamRelations(bundle, config.helperSchema),
        untagged?.map(({ column, proposedTags, confidence }) => ({ column, proposedTags, confidence })),
      );
      process.stdout.write(options.json ? `${JSON.stringify(matrix, null, 2)}\n` : `${formatAccessMatrix(matrix)}\n`);
    });
}
