export { type OutputPorts, createOutputPorts } from './output-ports';
export { productOfDatabase } from './port-directory';
export type { OutputPortConfig } from './port-model';
export { dryRunSummary } from './privacy-summary';
