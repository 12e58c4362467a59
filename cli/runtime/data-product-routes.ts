/**
 * Where a client's database name leads: the data product it names or whose output port it names
 * (the same upstream and catalog), and the output ports that plan a port's statements. `pgveil
 * serve` routes connections, catalogs and statements with these, and `pgveil explain` builds its
 * gate from the very same ones (its ports as a dry run), so what explain shows is what the server does.
 */
import type Redis from 'ioredis';
import type { UpstreamTarget } from '../../proxy';
import type { DataProductConfig } from '../../policies';
import { createOutputPorts, productOfDatabase, type OutputPorts } from '../../ports';
import type { ServerConfig } from '../config/server-config';
import { upstreamTargetOf } from './upstream-target-of';

/** The upstream a database name connects to, or undefined when it names nothing declared. */
export function routeOf(
  dataProducts: () => ReadonlyMap<string, DataProductConfig>,
): (database: string) => UpstreamTarget | undefined {
  return (database) => {
    const product = productOfDatabase(dataProducts(), database);
    return product ? upstreamTargetOf(product) : undefined;
  };
}

export interface PortOptions {
  /** Told when a budget refuses an answer (a security event). */
  readonly onBudgetExhausted?: (detail: { port: string; user: string; message: string }) => void;
  /** Read budgets and released answers, spend and release nothing (`pgveil explain`). */
  readonly dryRun?: boolean;
}

/** The declared output ports, their budgets in the configured Redis (else in this process's memory). */
export function outputPortsOf(
  config: ServerConfig,
  dataProducts: () => ReadonlyMap<string, DataProductConfig>,
  redis: Redis | undefined,
  options: PortOptions = {},
): OutputPorts {
  return createOutputPorts({
    dataProducts,
    redis,
    keyPrefix: config.redis?.keyPrefix ?? 'pgveil:',
    ...(options.onBudgetExhausted ? { onBudgetExhausted: options.onBudgetExhausted } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
  });
}
