/** Calendar periods (UTC) a budget renews with: the period's start names its Redis keys. */
import type { BudgetPeriod } from './port-model';

export interface PeriodWindow {
  /** e.g. `2026-12-01` for a day, the Monday for a week, `2026-12-01` for a month. */
  readonly label: string;
  readonly start: Date;
  readonly end: Date;
}

export function periodWindow(period: BudgetPeriod, now: Date): PeriodWindow {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  let start: Date;
  let end: Date;
  switch (period) {
    case 'day':
      start = new Date(Date.UTC(y, m, d));
      end = new Date(Date.UTC(y, m, d + 1));
      break;
    case 'week': {
      const monday = d - ((now.getUTCDay() + 6) % 7);
      start = new Date(Date.UTC(y, m, monday));
      end = new Date(Date.UTC(y, m, monday + 7));
      break;
    }
    case 'month':
      start = new Date(Date.UTC(y, m, 1));
      end = new Date(Date.UTC(y, m + 1, 1));
      break;
    case 'year':
      start = new Date(Date.UTC(y, 0, 1));
      end = new Date(Date.UTC(y + 1, 0, 1));
      break;
  }
  return { label: start.toISOString().slice(0, 10), start, end };
}
