import { readlinkSync } from 'node:fs';
import type { RootFs } from './root-fs.ts';

/** What /proc/PID/exe names: the path, and whether the image is gone from disk (deleted) or never was (memfd). */
export function parseExeLink(target: string): { path: string; deleted: boolean; memoryOnly: boolean } {
  const memoryOnly = target.startsWith('/memfd:');
  const deleted = target.endsWith(' (deleted)');
  return { path: deleted ? target.slice(0, -' (deleted)'.length) : target, deleted: deleted || memoryOnly, memoryOnly };
}

/** The target of /proc/PID/exe as the system names it; throws what readlink throws (EACCES, ENOENT for kernel threads). */
export function exeTarget(fs: RootFs, pid: number): string {
  const target = readlinkSync(fs.at(`/proc/${pid}/exe`));
  // A fixture's links point into the fixture; the system's are absolute system paths.
  return fs.root !== '/' && target.startsWith(fs.root + '/') ? target.slice(fs.root.length) : target;
}

/** A process's name (`comm`, else its executable's base name) and executable path, as far as this user may read them. */
export function processIdentity(fs: RootFs, pid: number): { name: string; path?: string } {
  let path: string | undefined;
  try {
    path = parseExeLink(exeTarget(fs, pid)).path;
  } catch {
    // a kernel thread, or not ours to read
  }
  const name = (fs.readText(`/proc/${pid}/comm`) ?? '').trim() || path?.split('/').pop() || '';
  return { name, ...(path ? { path } : {}) };
}
