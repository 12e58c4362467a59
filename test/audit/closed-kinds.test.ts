/**
 * Refusal rule ids and security event kinds are closed unions: a misspelt one does not compile
 * (the @ts-expect-error lines fail `npm run typecheck` the day they compile), and the kinds
 * docs/audit.md promises operators are exactly the ones the type allows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecurityEvent, SecurityEventKind } from '../../audit';
import { refusal, type RefusalRule } from '../../rewriter/rewrite-types';
import { GuardRefusal } from '../../rewriter/statement-guard';

// A Record over the union must name every member and nothing else: the compiler keeps this list whole.
const EVERY_KIND: Readonly<Record<SecurityEventKind, true>> = {
  auth_failure: true,
  protocol_violation: true,
  limit_exceeded: true,
  upstream_failure: true,
  statement_refused: true,
  rows_spike: true,
  refusal_spike: true,
  policy_reload_failed: true,
  attribute_source_outage: true,
  admin_action_refused: true,
  audit_checkpoint: true,
  matview_untagged_source: true,
  untagged_sensitive_column: true,
  privacy_budget_exhausted: true,
};

test('a misspelt refusal rule or event kind is a compile error', () => {
  // @ts-expect-error 'rate_limited' is not a refusal rule ('rate_limit' is)
  const typo: RefusalRule = 'rate_limited';
  // @ts-expect-error nor in the GuardRefusal the rewriter throws
  const thrown = new GuardRefusal('statment_class', 'refused');
  // @ts-expect-error nor in refusal(), which the gate and the proxy call
  const refused = refusal('42501', 'refused', ['stale_decisions'], 'v1');
  const event = (kind: SecurityEventKind): SecurityEvent['kind'] => kind;
  // @ts-expect-error 'statement_refusal' is not an event kind ('statement_refused' is)
  const kind = event('statement_refusal');
  // At run time the values are what was written: only the compiler stands between a typo and the audit.
  expect([typo, thrown.rule, refused.reasons, kind]).toEqual([
    'rate_limited',
    'statment_class',
    ['stale_decisions'],
    'statement_refusal',
  ]);
});

test('docs/audit.md lists exactly the security event kinds the type allows', () => {
  const doc = readFileSync(join(__dirname, '../../docs/audit.md'), 'utf8');
  const paragraph = /`kind` is one of ([\s\S]*?)\n`class_uid`/.exec(doc)?.[1];
  expect(paragraph).toBeDefined();
  // The kinds are the code spans outside the parenthesised asides (which quote fields and severities).
  const documented = [...paragraph!.replace(/\([^)]*\)/g, '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
  expect(documented.sort()).toEqual(Object.keys(EVERY_KIND).sort());
});
