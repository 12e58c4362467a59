/** What an external port's answer spends, for people: the line `pgveil explain` prints under a plan. */
import type { RewritePlan } from '../rewriter';
import { decimalToRational, microsText, toMicros } from './rational';

/** `privacy` of a plan made with `dryRun` (nothing spent): what the server would spend on it. */
export function dryRunSummary(privacy: NonNullable<RewritePlan['privacy']>): string {
  if (privacy.cached)
    return `privacy: already released to this user on port "${privacy.port}" in this period: the server serves the same answer again and spends nothing (epsilon ${privacy.remaining} left)`;
  const after = toMicros(decimalToRational(privacy.remaining));
  const left = after + toMicros(decimalToRational(privacy.epsilon));
  return `privacy: would spend epsilon ${privacy.epsilon} of ${microsText(left)} left on port "${privacy.port}" (${microsText(after)} after it); explain spent nothing`;
}
