/**
 * Which directories to watch, and which entry names in them matter, so that every way of
 * replacing a policy file is seen: the file's own directory (in-place writes and renames over it),
 * and, when the path goes through symlinks, each link and the directory of what it points to now
 * (a swapped link, the Kubernetes `..data` link to a timestamped directory). Events about other
 * entries (an audit log beside the policies, an editor's swap file) are ignored.
 */
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';

/** Symlink hops followed before giving up on a path (a loop, or an absurd chain). */
const MAX_HOPS = 16;

export class PolicyWatchTargets {
  private names = new Set<string>();

  constructor(private readonly paths: readonly string[]) {}

  resolve(): { readonly directories: ReadonlySet<string> } {
    const directories = new Set<string>();
    const names = new Set<string>();
    const add = (path: string): void => {
      directories.add(dirname(path));
      names.add(basename(path));
    };
    for (const path of this.paths) {
      let current = resolve(path);
      for (let hop = 0; hop < MAX_HOPS; hop++) {
        add(current);
        const link = readLink(current);
        if (link === undefined) break;
        // A relative link such as `..data/policies.yaml` goes through `..data` beside it.
        if (!isAbsolute(link)) names.add(link.split('/')[0]!);
        current = resolve(dirname(current), link);
      }
      try {
        add(realpathSync(path));
      } catch {
        // Missing right now (mid-swap, or deleted): its directory is watched for its return.
      }
    }
    this.names = names;
    return { directories };
  }

  /** Does an event about this entry name concern a policy file? */
  concerns(name: string): boolean {
    return this.names.has(name);
  }
}

function readLink(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}
