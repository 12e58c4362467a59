/**
 * `pgveil provision`'s whole path, shared by the command, the demo, the benchmarks and the test
 * stack: every data product the configuration's policy files declare (or the one named), each
 * provisioned on its own upstream, and the plan printed without secrets.
 */
import type { ServerConfig } from '../config/server-config';
import { loadPolicyFiles } from '../../policies';
import { provisionDataProduct, type ProvisionOptions, type ProvisionResult } from './provision-data-product';

export interface ProvisionConfiguredOptions extends Omit<ProvisionOptions, 'helperSchema'> {
  /** Only this data product (`--product`). */
  readonly product?: string;
}

export async function provisionConfigured(
  config: ServerConfig,
  options: ProvisionConfiguredOptions,
): Promise<ProvisionResult[]> {
  const bundle = loadPolicyFiles(config.policies);
  const products = [...bundle.dataProducts.values()].filter(
    (p) => options.product === undefined || p.name === options.product,
  );
  if (products.length === 0) {
    const known = [...bundle.dataProducts.keys()].map((n) => `"${n}"`).join(', ') || 'none';
    throw new Error(
      options.product === undefined
        ? 'the policy files declare no data product'
        : `no data product "${options.product}" in the policy files (declared: ${known})`,
    );
  }
  const results: ProvisionResult[] = [];
  for (const product of products) {
    try {
      results.push(await provisionDataProduct(product, { ...options, helperSchema: config.helperSchema }));
    } catch (error) {
      // Each data product is one transaction: those before this one are done, this one is unchanged.
      const u = product.upstream;
      throw new Error(
        `data product "${product.name}" (${u.host}:${u.port}/${u.database}) was not provisioned: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return results;
}

/** The plan as SQL a person can read and run by hand (secrets replaced by placeholders). */
export function formatProvisionResult(result: ProvisionResult, dryRun: boolean): string {
  const lines = [`-- data product "${result.product}" at ${result.upstream}, service account "${result.serviceRole}"`];
  for (const step of result.steps) {
    lines.push(`-- ${step.why}`, `${step.shown ?? step.sql};`);
    if (step.shownParams) lines.push(`--   ${step.shownParams}`);
  }
  for (const warning of result.warnings) lines.push(`-- warning: ${warning}`);
  const n = result.steps.length;
  if (n === 0) lines.push(`-- ${result.product}: already provisioned, nothing to change`);
  else if (dryRun) lines.push(`-- ${result.product}: dry run, ${n} statement(s) would run; nothing was changed`);
  else lines.push(`-- ${result.product}: ${n} statement(s) applied in one transaction`);
  return `${lines.join('\n')}\n`;
}
