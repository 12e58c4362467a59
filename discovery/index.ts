export { BUILTIN_CLASSIFIERS } from './builtin-classifiers';
export { ContinuousDiscovery } from './continuous-discovery';
export { customClassifiersOf } from './custom-classifiers';
export { discoverProduct } from './discover-product';
export { newTags, type DiscoveryReport } from './discovery-report';
export { formatReport, progressLine } from './format-report';
export { commentStatements, planTagWrites, writeTagPlan } from './tag-writes';
export { untaggedColumns, type UntaggedColumn, type UntaggedScan } from './untagged-columns';
