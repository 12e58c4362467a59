/**
 * Per-user baselines: an exponentially weighted mean of rows returned per statement and of refusals
 * per minute. A statement returning more than `factor` times the baseline (after `warmup`
 * statements, and above `minRows`), or a minute with more than `factor` times the usual refusals
 * (and at least `minRefusals`), is an anomaly.
 */
export interface AnomalyOptions {
  readonly factor: number;
  readonly warmup: number;
  readonly minRows: number;
  readonly minRefusals: number;
  /** Weight of the newest observation in the baselines. */
  readonly alpha: number;
}

export const DEFAULT_ANOMALY_OPTIONS: AnomalyOptions = {
  factor: 10,
  warmup: 20,
  minRows: 1000,
  minRefusals: 5,
  alpha: 0.1,
};

interface Baseline {
  statements: number;
  meanRows: number;
  minute: number;
  refusalsThisMinute: number;
  meanRefusalsPerMinute: number;
  refusalAlarmRaised: boolean;
}

export interface Anomaly {
  readonly kind: 'rows_spike' | 'refusal_spike';
  readonly message: string;
}

export class AnomalyDetector {
  private readonly baselines = new Map<string, Baseline>();

  constructor(private readonly options: AnomalyOptions = DEFAULT_ANOMALY_OPTIONS) {}

  private baseline(user: string, minute: number): Baseline {
    let b = this.baselines.get(user);
    if (!b) {
      b = {
        statements: 0,
        meanRows: 0,
        minute,
        refusalsThisMinute: 0,
        meanRefusalsPerMinute: 0,
        refusalAlarmRaised: false,
      };
      this.baselines.set(user, b);
    }
    // Close the minutes that passed: each counts towards the refusal baseline (empty ones as 0).
    while (b.minute < minute) {
      b.meanRefusalsPerMinute += this.options.alpha * (b.refusalsThisMinute - b.meanRefusalsPerMinute);
      b.refusalsThisMinute = 0;
      b.refusalAlarmRaised = false;
      b.minute = minute - b.minute > 60 ? minute : b.minute + 1;
    }
    return b;
  }

  observe(user: string, rows: number, refused: boolean, at = Date.now()): Anomaly | undefined {
    const { factor, warmup, minRows, minRefusals, alpha } = this.options;
    const b = this.baseline(user, Math.floor(at / 60_000));
    if (refused) {
      b.refusalsThisMinute++;
      const threshold = Math.max(minRefusals, factor * b.meanRefusalsPerMinute);
      if (!b.refusalAlarmRaised && b.refusalsThisMinute > threshold) {
        b.refusalAlarmRaised = true;
        return {
          kind: 'refusal_spike',
          message: `user "${user}" had ${b.refusalsThisMinute} refusals this minute (usual ${b.meanRefusalsPerMinute.toFixed(2)})`,
        };
      }
      return undefined;
    }
    const anomaly =
      b.statements >= warmup && rows > minRows && rows > factor * b.meanRows
        ? ({
            kind: 'rows_spike',
            message: `user "${user}" received ${rows} rows in one statement (usual ${Math.round(b.meanRows)})`,
          } as const)
        : undefined;
    b.statements++;
    b.meanRows = b.statements === 1 ? rows : b.meanRows + alpha * (rows - b.meanRows);
    return anomaly;
  }
}
