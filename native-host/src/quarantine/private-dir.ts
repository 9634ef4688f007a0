import { chmodSync, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Creates (if needed) a folder that only this account may use, and refuses one an attacker could have prepared:
 * a symbolic link, something that is not a folder, or a folder owned by someone else. Parents are created by
 * `mkdir -p` semantics; only the last component is held to these rules, because the home may legitimately sit
 * below a linked path (macOS `/var` → `/private/var`).
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`${dir} is not a real folder`);
  if (process.getuid && st.uid !== process.getuid()) throw new Error(`${dir} belongs to another user`);
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}

/**
 * True when no component of `dir` is a symbolic link: its canonical path is itself. `dir` must be absolute and
 * normalised. A missing folder is reported as not link-free (there is nothing safe to write into).
 */
export function isLinkFreeDir(dir: string): boolean {
  try {
    return realpathSync.native(dir) === dir && lstatSync(dir).isDirectory();
  } catch {
    return false;
  }
}
