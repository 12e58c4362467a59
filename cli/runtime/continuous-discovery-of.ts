/** Continuous discovery as configured (`discovery.continuous`), wired to the event sinks, the metrics and the log. */
import type { Logger } from 'pino';
import type { PolicyBundle } from '../../policies';
import type { EventSink } from '../../audit';
import type { PgveilMetrics } from '../../ops';
import type { ServerConfig } from '../config/server-config';
import { ContinuousDiscovery } from '../../discovery';
import { BUILTIN_CLASSIFIERS } from '../../discovery';
import { customClassifiersOf } from '../../discovery';

export function continuousDiscovery(
  config: ServerConfig,
  bundle: () => PolicyBundle,
  events: EventSink,
  metrics: PgveilMetrics,
  log: Logger,
): ContinuousDiscovery {
  const settings = config.discovery.continuous;
  const builtin = new Set(BUILTIN_CLASSIFIERS.map((c) => c.id));
  // Custom classifiers are re-read with the policy version they belong to.
  let classifiers: { version: string; list: readonly (typeof BUILTIN_CLASSIFIERS)[number][] } | undefined;
  return new ContinuousDiscovery({
    product: (name) => bundle().dataProducts.get(name),
    classifiers: () => {
      const version = bundle().version;
      if (classifiers?.version !== version) {
        try {
          classifiers = { version, list: [...BUILTIN_CLASSIFIERS, ...customClassifiersOf(config.policies, builtin)] };
        } catch (error) {
          log.warn({ error: (error as Error).message }, 'discovery: custom classifiers not loaded, built-in ones only');
          classifiers = { version, list: BUILTIN_CLASSIFIERS };
        }
      }
      return classifiers.list;
    },
    rows: settings.rows,
    maxRelations: settings.maxRelations,
    budgetMs: settings.budgetSeconds * 1000,
    statementTimeoutMs: config.discovery.statementTimeoutMs,
    maxValueChars: config.discovery.maxValueChars,
    minConfidence: config.discovery.minConfidence,
    excludeSchemas: [config.helperSchema],
    onFinding: (f) =>
      events.emit({
        time: new Date().toISOString(),
        kind: 'untagged_sensitive_column',
        severity: 'medium',
        actor: { user: null, session: '', client: '' },
        dataProduct: f.dataProduct,
        message: `column "${f.relation}.${f.column}" looks like ${f.proposedTags.join(', ')} (confidence ${f.confidence.toFixed(2)}) and no tag covers it: no policy reaches it`,
        reasons: [f.classifier],
        finding: {
          relation: f.relation,
          column: f.column,
          classifier: f.classifier,
          proposedTags: f.proposedTags,
          confidence: f.confidence,
        },
      }),
    onCount: (dataProduct, untagged) => metrics.untaggedSensitiveColumns.set({ data_product: dataProduct }, untagged),
    // By SQLSTATE or the message of a connection failure: a sample error is reported without values.
    onError: (dataProduct, error) =>
      log.warn(
        { dataProduct, error: (error as { code?: string }).code ?? error.message },
        'continuous discovery run failed; it is retried at the next catalog refresh',
      ),
  });
}
