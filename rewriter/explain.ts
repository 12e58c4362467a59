/** A rewrite outcome for people: the SQL that goes upstream, pretty-printed, and the rules behind it. */
import { deparseSync } from 'pgsql-deparser';
import { parseSync } from 'libpg-query';
import type { RewriteOutcome } from './rewrite-types';

export function explainRewrite(outcome: RewriteOutcome): string {
  if (outcome.kind === 'refusal') {
    return [
      `refused (SQLSTATE ${outcome.sqlstate}): ${outcome.message}`,
      `rules: ${outcome.reasons.join(', ')}`,
      `policy version: ${outcome.policyVersion}`,
    ].join('\n');
  }
  const pretty = deparseSync(parseSync(outcome.sql), { pretty: true });
  const rules = outcome.reasons.map((r) => `  ${r.ruleId} (${r.scope})${r.column ? ` ${r.column}` : ''}: ${r.effect}`);
  return [
    outcome.rewritten
      ? `rewritten (protected: ${outcome.relations.join(', ')})`
      : 'forwarded without substitution (no protected relation)',
    '',
    pretty,
    '',
    `policy version: ${outcome.policyVersion}`,
    ...(outcome.rowLimit !== undefined ? [`row limit: ${outcome.rowLimit} rows per statement`] : []),
    ...(outcome.timeLimitMs !== undefined ? [`time limit: ${outcome.timeLimitMs} ms per statement`] : []),
    ...(rules.length > 0 ? ['rules:', ...rules] : []),
  ].join('\n');
}
