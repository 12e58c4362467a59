/**
 * The running policy version. A change to any policy file is loaded in full and swapped in
 * atomically: a statement reads current() once and keeps that version. An invalid change (an
 * empty, unreadable, broken or half-written file) is refused, the running version stays, and
 * onReloadFailed says why, once per distinct content.
 *
 * Files are replaced in many ways: written in place, written beside and renamed over (sed -i,
 * editors, Ansible), behind a symlink that is swapped, or in the Kubernetes ConfigMap layout where
 * `..data` is a symlink to a timestamped directory swapped atomically. Watching a file keeps its
 * old inode after the first rename, so the store watches the directories on the way to each file
 * and re-resolves them after every change; a periodic content check catches whatever a watcher
 * misses, and reload() (SIGHUP) loads at once.
 */
import { watch, type FSWatcher } from 'node:fs';
import { PolicyWatchTargets } from './policy-watch-targets';
import {
  buildPolicyBundle,
  policyVersionOf,
  readPolicySources,
  type PolicyBundle,
  type PolicySource,
} from './policy-loader';

export interface PolicyStoreOptions {
  readonly paths: readonly string[];
  readonly watch: boolean;
  readonly onReloaded?: (bundle: PolicyBundle) => void;
  readonly onReloadFailed?: (error: Error) => void;
  /** A changed content is loaded once two reads this far apart agree (editors write in steps). */
  readonly settleMs?: number;
  /** Period of the content check; 0 turns it off. */
  readonly checkMs?: number;
  /** Tells the other replicas to reload after a change this one loaded (Redis pub/sub). */
  readonly announce?: (version: string) => void;
}

type Reading =
  | { readonly fingerprint: string; readonly sources: PolicySource[] }
  | { readonly fingerprint: string; readonly error: Error };

export class PolicyStore {
  private bundle: PolicyBundle;
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly targets: PolicyWatchTargets;
  private timer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  /** Content seen once and waiting to read the same again before it is loaded. */
  private settling: string | undefined;
  /** Content that failed to load: reported once, not at every check. */
  private failed: string | undefined;
  private closed = false;

  constructor(private readonly options: PolicyStoreOptions) {
    this.bundle = buildPolicyBundle(readPolicySources(options.paths));
    this.targets = new PolicyWatchTargets(options.paths);
    if (options.watch) {
      this.rewatch();
      const checkMs = options.checkMs ?? 2000;
      if (checkMs > 0) {
        this.poller = setInterval(() => this.check(), checkMs);
        this.poller.unref();
      }
    }
  }

  current(): PolicyBundle {
    return this.bundle;
  }

  /** The directories watched for changes to the policy files now. */
  watchedDirectories(): ReadonlySet<string> {
    return this.targets.resolve().directories;
  }

  /** Loads the files now (SIGHUP, an announcement); false, with the running version kept, when they are invalid. */
  reload(): boolean {
    this.settling = undefined;
    return this.apply(this.read());
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.poller);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private read(): Reading {
    try {
      const sources = readPolicySources(this.options.paths);
      return { fingerprint: policyVersionOf(sources), sources };
    } catch (error) {
      return { fingerprint: `unreadable: ${(error as Error).message}`, error: error as Error };
    }
  }

  private apply(reading: Reading): boolean {
    if ('error' in reading) return this.refuse(reading.fingerprint, reading.error);
    if (reading.fingerprint === this.bundle.version) {
      this.failed = undefined;
      return true;
    }
    let next: PolicyBundle;
    try {
      next = buildPolicyBundle(reading.sources);
    } catch (error) {
      return this.refuse(reading.fingerprint, error as Error);
    }
    this.bundle = next;
    this.failed = undefined;
    this.options.onReloaded?.(next);
    this.options.announce?.(next.version);
    return true;
  }

  private refuse(fingerprint: string, error: Error): false {
    if (this.failed !== fingerprint) {
      this.failed = fingerprint;
      this.options.onReloadFailed?.(error);
    }
    return false;
  }

  /** Called by watchers and the poller: loads content once it has stopped changing. */
  private check(): void {
    if (this.closed) return;
    const reading = this.read();
    const unchanged = reading.fingerprint === this.bundle.version || reading.fingerprint === this.failed;
    if (unchanged) this.settling = undefined;
    else if (reading.fingerprint !== this.settling) {
      this.settling = reading.fingerprint;
      this.schedule();
    } else {
      this.settling = undefined;
      this.apply(reading);
    }
    this.rewatch();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), this.options.settleMs ?? 200);
    this.timer.unref();
  }

  /** Watches the directories the files are reached through now; a swapped link changes them. */
  private rewatch(): void {
    if (!this.options.watch || this.closed) return;
    const wanted = this.targets.resolve();
    for (const [dir, watcher] of this.watchers) {
      if (!wanted.directories.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted.directories) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || this.targets.concerns(String(name))) this.schedule();
        });
        // A directory removed under the watcher (an old ConfigMap revision): forget it; the next
        // check watches whatever the files resolve to then.
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, watcher);
      } catch {
        // The directory is gone for now; the periodic check still reads the files.
      }
    }
  }
}
