/**
 * Privacy parameters as a policy file writes them (`epsilonPerAnswer: 0.5`, `budget.epsilon: 2`):
 * exact non-negative decimals of at most 6 places, read as whole millionths, never rounded. The
 * load-time port checks (port-checks.ts) and ports/ (budgets in millionths, exact noise scales in
 * ports/rational.ts) read them with this one function, so what loads is what ports/ computes with.
 */
export function decimalMicros(value: number | string): bigint {
  const text = typeof value === 'number' ? numberText(value) : value.trim();
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a non-negative decimal with at most 6 decimals`);
  return BigInt(match[1]! + (match[2] ?? '').padEnd(6, '0'));
}

function numberText(value: number): string {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${value} is not a non-negative finite number`);
  // toFixed(6) then trim: 0.1 prints as 0.1, not 0.1000000000000000055...; a value it would round
  // is refused, never silently changed.
  const fixed = value.toFixed(6);
  if (Number(fixed) !== value) throw new Error(`${value} has more than 6 decimals`);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}
