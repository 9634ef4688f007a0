import { lstatSync, readFileSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { dirname, join, posix } from 'node:path';

/**
 * File access below a root prefix: `/` in production, a fixture tree in tests. Paths in and out are the system's
 * (`/etc/crontab`); only the reads are prefixed.
 */
export class RootFs {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The real location of a system path. */
  at(path: string): string {
    return this.root === '/' ? path : join(this.root, path);
  }

  lstat(path: string): Stats | undefined {
    try {
      return lstatSync(this.at(path));
    } catch {
      return undefined;
    }
  }

  readText(path: string): string | undefined {
    try {
      return readFileSync(this.at(path), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** Entry names, sorted; [] when the folder is missing or unreadable. */
  list(path: string): string[] {
    try {
      return readdirSync(this.at(path)).sort();
    } catch {
      return [];
    }
  }

  /**
   * Where a symbolic link named by an autostart entry ends (at most 8 hops, staying below the root): what would run is
   * the target. This is naming an object, not walking: the walk never follows links.
   */
  resolveLink(path: string): { path: string; stat: Stats } | undefined {
    let p = path;
    for (let hop = 0; hop < 8; hop++) {
      const st = this.lstat(p);
      if (!st) return undefined;
      if (!st.isSymbolicLink()) return { path: p, stat: st };
      let target: string;
      try {
        target = readlinkSync(this.at(p));
      } catch {
        return undefined;
      }
      p = target.startsWith('/') ? posix.normalize(target) : posix.join(dirname(p), target);
    }
    return undefined;
  }
}
