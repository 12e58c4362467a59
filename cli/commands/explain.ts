/** `pgveil explain --config FILE --user NAME "SQL"`: what a statement becomes for a user, and why. */
import type { Command } from 'commander';
import { loadServerConfig } from '../config/load-server-config';
import { createIdentityProvider, loadPolicyFiles } from '../../policies';
import { explainRewrite, initRewriter, rewrite } from '../../rewriter';
import { CatalogCache } from '../runtime/catalog-cache';
import { upstreamTargetOf } from '../runtime/upstream-target-of';

export function register(program: Command): void {
  program
    .command('explain')
    .description('print the rewritten SQL and the rules that applied for a user, or the refusal')
    .requiredOption('-c, --config <file>', 'pgveil.yaml')
    .requiredOption('-u, --user <name>', 'the analyst')
    .option('-d, --data-product <name>', 'data product (database name); defaults to the only one declared')
    .option('--purpose <purpose>', 'session purpose')
    .argument('<sql>', 'the statement')
    .action(async (sql: string, options: { config: string; user: string; dataProduct?: string; purpose?: string }) => {
      await initRewriter();
      const config = loadServerConfig(options.config);
      const bundle = loadPolicyFiles(config.policies);
      const products = [...bundle.dataProducts.keys()];
      const dataProduct = options.dataProduct ?? (products.length === 1 ? products[0]! : undefined);
      if (!dataProduct) throw new Error(`several data products are declared (${products.join(', ')}): name one with --data-product`);
      const resolved = await createIdentityProvider(() => bundle).resolvePrincipal(options.user, undefined);
      if (!resolved.ok) throw new Error(`user "${options.user}": ${resolved.reason}`);
      const catalogs = new CatalogCache((name) => {
        const product = bundle.dataProducts.get(name);
        return product ? upstreamTargetOf(product) : undefined;
      }, 60);
      const catalog = await catalogs.get(dataProduct);
      const principal = options.purpose ? { ...resolved.principal, purpose: options.purpose } : resolved.principal;
      const outcome = rewrite(sql, { principal, dataProduct, searchPath: ['$user', 'public'], catalog, policies: bundle.snapshot, helperSchema: config.helperSchema });
      process.stdout.write(`${explainRewrite(outcome)}\n`);
      if (outcome.kind === 'refusal') process.exitCode = 2;
    });
}
