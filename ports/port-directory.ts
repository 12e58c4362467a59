/** Which port a client's database name names: a declared port of a data product, or none. */
import type { DataProductConfig } from '../policies';
import type { OutputPortConfig } from './port-model';

export interface PortRoute {
  readonly port: OutputPortConfig;
  readonly product: DataProductConfig;
}

const directories = new WeakMap<ReadonlyMap<string, DataProductConfig>, ReadonlyMap<string, PortRoute>>();

/** Declared ports by name; computed once per policy version (the products map is immutable). */
export function portDirectory(products: ReadonlyMap<string, DataProductConfig>): ReadonlyMap<string, PortRoute> {
  let directory = directories.get(products);
  if (!directory) {
    const entries = new Map<string, PortRoute>();
    for (const product of products.values())
      for (const port of product.ports ?? []) entries.set(port.name, { port, product });
    directory = entries;
    directories.set(products, directory);
  }
  return directory;
}

/** The data product a database name connects to: itself, or the product whose port it names. */
export function productOfDatabase(
  products: ReadonlyMap<string, DataProductConfig>,
  database: string,
): DataProductConfig | undefined {
  return products.get(database) ?? portDirectory(products).get(database)?.product;
}

export function isSubscriber(port: OutputPortConfig, user: string, groups: readonly string[]): boolean {
  return (
    (port.subscribers.users?.includes(user) ?? false) ||
    (port.subscribers.groups?.some((g) => groups.includes(g)) ?? false)
  );
}
