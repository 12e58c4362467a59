/**
 * Load-time checks of output ports beyond the schema: names a client connects to must be unique
 * (a port may not shadow a data product or another port), privacy parameters must be exact
 * decimals, bounds ordered, and one answer may not cost more than the whole budget.
 */
import { ValidationError } from './yaml-validation';
import type { DataProductConfig } from './policy-model';
import { decimalMicros } from './policy-decimals';

export function checkPorts(products: readonly DataProductConfig[]): void {
  const names = new Set(products.map((p) => p.name));
  for (const product of products) {
    for (const port of product.ports ?? []) {
      const where = `data product "${product.name}" port "${port.name}"`;
      if (names.has(port.name))
        throw new ValidationError(`${where}: the name is already a data product or another port's`);
      names.add(port.name);
      if (port.kind !== 'external') continue;
      const perAnswer = exactMicros(port.epsilonPerAnswer!, `${where}: epsilonPerAnswer`);
      const budget = exactMicros(port.budget!.epsilon, `${where}: budget.epsilon`);
      if (perAnswer > budget)
        throw new ValidationError(
          `${where}: epsilonPerAnswer ${port.epsilonPerAnswer} exceeds the budget of ${port.budget!.epsilon}`,
        );
      for (const [relation, published] of Object.entries(port.relations ?? {})) {
        for (const [column, bounds] of Object.entries(published.measures ?? {})) {
          if (!(bounds.lower <= bounds.upper))
            throw new ValidationError(
              `${where}: measure "${relation}.${column}" has lower bound ${bounds.lower} above its upper bound ${bounds.upper}`,
            );
          const scale = 10 ** (bounds.decimals ?? 0);
          const largest = Math.max(Math.abs(bounds.lower), Math.abs(bounds.upper)) * scale * published.maxRowsPerUnit;
          if (!Number.isSafeInteger(Math.ceil(largest)))
            throw new ValidationError(
              `${where}: measure "${relation}.${column}": bounds times 10^decimals times maxRowsPerUnit must stay below 2^53`,
            );
        }
        for (const [column, domain] of Object.entries(published.dimensions ?? {})) {
          if (new Set(domain.map(String)).size !== domain.length)
            throw new ValidationError(`${where}: dimension "${relation}.${column}" lists a value twice`);
        }
      }
    }
  }
}

function exactMicros(value: number, what: string): bigint {
  try {
    const micros = decimalMicros(value);
    if (micros <= 0n) throw new Error('must be positive');
    return micros;
  } catch (error) {
    throw new ValidationError(`${what}: ${(error as Error).message}`);
  }
}
