/**
 * `pgveil explain --config FILE --user NAME "SQL"`: what a statement becomes for a user, and why.
 * It asks the statement gate the server uses, built from the same configuration and routed the
 * same way (cli/runtime/data-product-routes.ts): the same policy version, catalog, live Redis
 * attributes and grants (when configured), row and time limits, and on an output port the port's
 * planning, budget check included. Explain is a dry run: it reads the privacy budget and the
 * answers released before, and says what the server would spend, but spends and releases nothing.
 */
import type { Command } from 'commander';
import { loadServerConfig } from '../config/load-server-config';
import type { ServerConfig } from '../config/server-config';
import { createIdentityProvider, createTokenVerifier, loadPolicyFiles } from '../../policies';
import { explainRewrite, initRewriter, RewriteCache, type RewriteOutcome } from '../../rewriter';
import { PgveilMetrics } from '../../ops';
import { dryRunSummary } from '../../ports';
import { CatalogCache } from '../runtime/catalog-cache';
import { connectRedis } from '../runtime/connect-redis';
import { attributeSourceOf } from '../runtime/attribute-source-of';
import { statementGateOf } from '../runtime/statement-gate-of';
import { outputPortsOf, routeOf } from '../runtime/data-product-routes';
import { parseSearchPath } from '../../proxy';

export interface ExplainOptions {
  readonly user: string;
  /** The database name a client would connect to: a data product or one of its output ports. */
  readonly dataProduct?: string;
  readonly purpose?: string;
  readonly searchPath: string;
}

export interface Explained {
  /** The gate's outcome, as the server's gate would return it. */
  readonly outcome: RewriteOutcome;
  /** What `pgveil explain` prints. */
  readonly text: string;
}

export function register(program: Command): void {
  program
    .command('explain')
    .description('print the rewritten SQL and the rules that applied for a user, or the refusal')
    .requiredOption('-c, --config <file>', 'pgveil.yaml')
    .requiredOption('-u, --user <name>', 'the analyst')
    .option(
      '-d, --data-product <name>',
      'the database name a client connects to: a data product or an output port; defaults to the only data product declared',
    )
    .option('--purpose <purpose>', 'session purpose')
    .option('--search-path <path>', 'the session search_path', '"$user", public')
    .argument('<sql>', 'the statement')
    .action(async (sql: string, options: ExplainOptions & { readonly config: string }) => {
      const { outcome, text } = await explainStatement(loadServerConfig(options.config), options, sql);
      process.stdout.write(`${text}\n`);
      if (outcome.kind === 'refusal') process.exitCode = 2;
    });
}

/** One statement through the gate `pgveil serve` would build from this configuration, spending nothing. */
export async function explainStatement(config: ServerConfig, options: ExplainOptions, sql: string): Promise<Explained> {
  await initRewriter();
  const bundle = loadPolicyFiles(config.policies);
  const products = [...bundle.dataProducts.keys()];
  const dataProduct = options.dataProduct ?? (products.length === 1 ? products[0]! : undefined);
  if (!dataProduct)
    throw new Error(`several data products are declared (${products.join(', ')}): name one with --data-product`);
  const route = routeOf(() => bundle.dataProducts);
  if (!route(dataProduct))
    throw new Error(
      `database "${dataProduct}" does not exist: it names no data product or output port, and the server refuses the connection (SQLSTATE 3D000)`,
    );
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
    const gate = statementGateOf(config, {
      policies: () => bundle,
      identity,
      catalogs: new CatalogCache(route, 60),
      cache: new RewriteCache(),
      metrics: new PgveilMetrics(),
      ports: outputPortsOf(config, () => bundle.dataProducts, redis, { dryRun: true }),
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
    const privacy = outcome.kind === 'plan' && outcome.privacy ? outcome.privacy : undefined;
    const lines = [
      explainRewrite(outcome),
      ...(privacy ? [dryRunSummary(privacy)] : []),
      ...(privacy && !config.redis
        ? [
            'note: no redis is configured, so the server keeps budgets in its own memory, which explain cannot read: a full budget is assumed',
          ]
        : []),
    ];
    return { outcome, text: lines.join('\n') };
  } finally {
    attributes?.close();
    redis?.disconnect();
  }
}
