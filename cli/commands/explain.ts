/**
 * `pgveil explain --config FILE --user NAME "SQL"`: what a statement becomes for a user, and why.
 * It asks the statement gate the server uses, built from the same configuration: the same policy
 * version, catalog, live Redis attributes and grants (when configured), row and time limits.
 */
import type { Command } from 'commander';
import { loadServerConfig } from '../config/load-server-config';
import { createIdentityProvider, createTokenVerifier, loadPolicyFiles } from '../../policies';
import { explainRewrite, initRewriter, RewriteCache } from '../../rewriter';
import { PgveilMetrics } from '../../ops';
import { CatalogCache } from '../runtime/catalog-cache';
import { upstreamTargetOf } from '../runtime/upstream-target-of';
import { connectRedis } from '../runtime/connect-redis';
import { attributeSourceOf } from '../runtime/attribute-source-of';
import { statementGateOf } from '../runtime/statement-gate-of';
import { parseSearchPath } from '../../proxy';

interface ExplainOptions {
  readonly config: string;
  readonly user: string;
  readonly dataProduct?: string;
  readonly purpose?: string;
  readonly searchPath: string;
}

export function register(program: Command): void {
  program
    .command('explain')
    .description('print the rewritten SQL and the rules that applied for a user, or the refusal')
    .requiredOption('-c, --config <file>', 'pgveil.yaml')
    .requiredOption('-u, --user <name>', 'the analyst')
    .option('-d, --data-product <name>', 'data product (database name); defaults to the only one declared')
    .option('--purpose <purpose>', 'session purpose')
    .option('--search-path <path>', 'the session search_path', '"$user", public')
    .argument('<sql>', 'the statement')
    .action(async (sql: string, options: ExplainOptions) => {
      await initRewriter();
      const config = loadServerConfig(options.config);
      const bundle = loadPolicyFiles(config.policies);
      const products = [...bundle.dataProducts.keys()];
      const dataProduct = options.dataProduct ?? (products.length === 1 ? products[0]! : undefined);
      if (!dataProduct)
        throw new Error(`several data products are declared (${products.join(', ')}): name one with --data-product`);
      const redis = config.redis ? await connectRedis(config.redis.url) : undefined;
      const attributes = attributeSourceOf(config, redis, {
        onOutage: (detail) => process.stderr.write(`pgveil explain: attribute store unavailable: ${detail}\n`),
        onRecovery: () => undefined,
      });
      try {
        const tokens = config.tokens
          ? { verify: await createTokenVerifier(config.tokens), claims: config.tokens.claims }
          : undefined;
        const identity = createIdentityProvider({ bundle: () => bundle, tokens, redis: attributes });
        const resolved = await identity.resolvePrincipal(options.user, undefined);
        if (!resolved.ok) throw new Error(`user "${options.user}": ${resolved.reason}`);
        const catalogs = new CatalogCache((name) => {
          const product = bundle.dataProducts.get(name);
          return product ? upstreamTargetOf(product) : undefined;
        }, 60);
        const gate = statementGateOf(config, {
          policies: () => bundle,
          identity,
          catalogs,
          cache: new RewriteCache(),
          metrics: new PgveilMetrics(),
        });
        const principal = options.purpose ? { ...resolved.principal, purpose: options.purpose } : resolved.principal;
        const session = {
          sessionId: 'explain',
          principal,
          dataProduct,
          searchPath: parseSearchPath(options.searchPath),
          applicationName: 'pgveil explain',
          clientAddress: 'local',
        };
        const outcome = await gate.check(sql, session);
        process.stdout.write(`${explainRewrite(outcome)}\n`);
        if (outcome.kind === 'refusal') process.exitCode = 2;
      } finally {
        attributes?.close();
        redis?.disconnect();
      }
    });
}
