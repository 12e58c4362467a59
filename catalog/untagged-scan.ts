/**
 * Discovered-but-untagged columns for the catalog. Finding them samples every relation of every
 * data product (discovery/untagged-columns.ts), far too slow for a page load: a scan runs in the
 * background when a page asks and the last one is missing, older than `maxAgeMs` or of another
 * policy version; pages show the last result with its time. One scan at a time. Only tags,
 * classifiers and confidences are kept: discovery never returns a sampled value.
 */
import type { PolicyBundle } from '../policies';
import type { UntaggedColumn, UntaggedScan } from '../discovery';

export interface UntaggedState {
  readonly columns: readonly UntaggedColumn[];
  /** When the shown result was computed; undefined before the first scan finished. */
  readonly at: Date | undefined;
  readonly running: boolean;
  readonly error: string | undefined;
}

export class UntaggedScanner {
  private result: { columns: readonly UntaggedColumn[]; at: Date; version: string } | undefined;
  private running: Promise<void> | undefined;
  private error: string | undefined;

  constructor(
    private readonly scan: (bundle: PolicyBundle) => Promise<UntaggedScan>,
    private readonly bundle: () => PolicyBundle,
    private readonly maxAgeMs = 15 * 60 * 1000,
  ) {}

  /** The last result; starts a scan when it is due. Never waits for one. */
  current(): UntaggedState {
    const bundle = this.bundle();
    const due =
      !this.result || this.result.version !== bundle.version || Date.now() - this.result.at.getTime() > this.maxAgeMs;
    if (due && !this.running) {
      this.running = this.scan(bundle)
        .then(
          (scan) => {
            this.result = { columns: scan.columns, at: new Date(), version: bundle.version };
            this.error = undefined;
          },
          (error: Error) => {
            this.error = error.message;
            // Try again at the next page load after the usual age, not at every one.
            this.result = { columns: this.result?.columns ?? [], at: new Date(), version: bundle.version };
          },
        )
        .finally(() => {
          this.running = undefined;
        });
    }
    return {
      columns: this.result?.columns ?? [],
      at: this.result?.at,
      running: this.running !== undefined,
      error: this.error,
    };
  }

  /** Resolves when the scan in progress (if any) is over: for shutdown and tests. */
  async idle(): Promise<void> {
    await this.running;
  }
}
