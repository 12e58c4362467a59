export { type OutputPorts, createOutputPorts } from './output-ports';
export { checkPorts } from './port-checks';
export { productOfDatabase } from './port-directory';
export type { OutputPortConfig } from './port-model';
export { dryRunSummary } from './privacy-summary';
