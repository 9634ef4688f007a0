import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  type Stats,
} from 'node:fs';
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

  /**
   * The text of a regular file of at most `max` bytes, or why it was not read. For files anyone may plant (a user's
   * unit files, read by a root scan): opened without following a final link and without blocking, so a FIFO or a
   * device swapped in cannot hang the scan, and a huge file is refused rather than read.
   */
  readRegular(path: string, max: number): { text: string } | { reason: string } {
    let fd: number;
    try {
      fd = openSync(this.at(path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      return { reason: `not readable (${(err as NodeJS.ErrnoException).code ?? 'EIO'})` };
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return { reason: 'not a regular file' };
      if (st.size > max) return { reason: `larger than ${max} bytes` };
      const buf = Buffer.alloc(st.size);
      let n = 0;
      while (n < buf.length) {
        const got = readSync(fd, buf, n, buf.length - n, n);
        if (got === 0) break;
        n += got;
      }
      return { text: buf.subarray(0, n).toString('utf8') };
    } catch (err) {
      return { reason: `not readable (${(err as NodeJS.ErrnoException).code ?? 'EIO'})` };
    } finally {
      closeSync(fd);
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
