/**
 * The running policy version. A change to any policy file is loaded in full and swapped in
 * atomically: a statement reads current() once and keeps that version. An invalid change is
 * refused, the running version stays, and onReloadFailed says why.
 */
import { watch, type FSWatcher } from 'node:fs';
import { loadPolicyFiles, type PolicyBundle } from './policy-loader';

export interface PolicyStoreOptions {
  readonly paths: readonly string[];
  readonly watch: boolean;
  readonly onReloaded?: (bundle: PolicyBundle) => void;
  readonly onReloadFailed?: (error: Error) => void;
  readonly debounceMs?: number;
  /** Tells the other replicas to reload after a change this one loaded (Redis pub/sub). */
  readonly announce?: (version: string) => void;
}

export class PolicyStore {
  private bundle: PolicyBundle;
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PolicyStoreOptions) {
    this.bundle = loadPolicyFiles(options.paths);
    if (options.watch) {
      for (const path of options.paths) this.watchers.push(watch(path, () => this.scheduleReload()));
    }
  }

  current(): PolicyBundle {
    return this.bundle;
  }

  /** Loads the files now; returns false (and keeps the running version) when they are invalid. */
  reload(): boolean {
    try {
      const next = loadPolicyFiles(this.options.paths);
      if (next.version !== this.bundle.version) {
        this.bundle = next;
        this.options.onReloaded?.(next);
        this.options.announce?.(next.version);
      }
      return true;
    } catch (error) {
      this.options.onReloadFailed?.(error as Error);
      return false;
    }
  }

  private scheduleReload(): void {
    clearTimeout(this.timer);
    // Editors write files in several steps; wait for the last one.
    this.timer = setTimeout(() => this.reload(), this.options.debounceMs ?? 200);
  }

  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
  }
}
