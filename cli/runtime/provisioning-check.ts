/**
 * serve's provisioning check: at start and after every policy reload, each declared data product's
 * upstream is checked (cli/provision/check-upstream-provisioning.ts) and every finding is logged —
 * error when the keyed hash cannot work, warn otherwise — with the command that fixes it.
 */
import type { Logger } from 'pino';
import type { PolicyBundle } from '../../policies';
import type { DataProductConfig } from '../../policies';
import type { ServerConfig } from '../config/server-config';
import { checkUpstreamProvisioning } from '../provision/check-upstream-provisioning';

/** Whether any rule may hash a column of this data product. */
function hashesFor(bundle: PolicyBundle, product: DataProductConfig): boolean {
  const hashes = (rule: {
    readonly columns?: ReadonlyArray<{ readonly action: { readonly kind: string } }>;
  }): boolean => (rule.columns ?? []).some((c) => c.action.kind === 'hash');
  return (
    bundle.set.globalPolicies.some((r) => hashes(r) && (!r.dataProducts || r.dataProducts.includes(product.name))) ||
    bundle.set.domainPolicies.some(
      (r) => hashes(r) && r.domain === product.domain && (!r.dataProducts || r.dataProducts.includes(product.name)),
    )
  );
}

const shellWord = (word: string): string => (/^[\w./:@=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

function provisionCommand(config: ServerConfig, product: string): string {
  return `pgveil provision --config ${shellWord(config.file ?? 'pgveil.yaml')} --product ${shellWord(product)}`;
}

/** Logs the findings of every data product of `bundle` (or of the one named); never throws. */
export async function checkProvisioning(
  bundle: PolicyBundle,
  config: ServerConfig,
  log: Logger,
  only?: string,
): Promise<void> {
  await Promise.all(
    [...bundle.dataProducts.values()]
      .filter((p) => only === undefined || p.name === only)
      .map(async (product) => {
        const findings = await checkUpstreamProvisioning(product, {
          helperSchema: config.helperSchema,
          hashes: hashesFor(bundle, product),
          fixCommand: provisionCommand(config, product.name),
        });
        for (const f of findings) {
          log[f.level](
            { dataProduct: f.dataProduct, upstream: f.upstream, problem: f.problem, fix: f.fix },
            `data product "${f.dataProduct}" (${f.upstream}): ${f.problem}; fix: ${f.fix}`,
          );
        }
      }),
  ).catch((error: unknown) => log.warn({ err: error }, 'provisioning check failed'));
}
