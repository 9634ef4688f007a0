import { readFileSync, statSync, type Stats } from 'node:fs';
import type { FileFinding } from './collector.ts';
import { fileAt } from './named-files.ts';
import { RootFs } from './root-fs.ts';

/**
 * The Windows file system as the Windows collector sees it: absolute Windows paths in (`C:\Windows\System32\Tasks`),
 * case-insensitive as on Windows. Two implementations: the live one (Node's fs on `C:\…`, on Windows) and a folder
 * standing for `C:\` (fixtures, on any OS).
 */
export interface WindowsFiles {
  /** A file finding for a regular file (through links: what runs is the target), its `path` the Windows path. */
  file(winPath: string, area: string, origin: string): FileFinding | undefined;
  /** Entry names of a folder, sorted; [] when missing or unreadable. */
  list(winDir: string): string[];
  isDirectory(winDir: string): boolean;
  /** A file's bytes (small files: task definitions), or undefined. */
  read(winPath: string): Buffer | undefined;
  /** The path a folder finding carries (the scan walks it, below its root prefix for fixtures). */
  folderPath(winDir: string): string;
}

const isAbsolute = (p: string) => /^[A-Za-z]:\\/.test(p);

/** Node's fs on the real drive letters (Windows: paths already ignore case). */
export class LiveWindowsFiles implements WindowsFiles {
  private stat(p: string): Stats | undefined {
    try {
      return statSync(p);
    } catch {
      return undefined;
    }
  }
  file(winPath: string, area: string, origin: string): FileFinding | undefined {
    if (!isAbsolute(winPath)) return undefined;
    const st = this.stat(winPath);
    return st?.isFile() ? { kind: 'file', area, path: winPath, stat: st, origin } : undefined;
  }
  list(winDir: string): string[] {
    return new RootFs('/').list(winDir);
  }
  isDirectory(winDir: string): boolean {
    return this.stat(winDir)?.isDirectory() ?? false;
  }
  read(winPath: string): Buffer | undefined {
    try {
      return readFileSync(winPath);
    } catch {
      return undefined;
    }
  }
  folderPath(winDir: string): string {
    return winDir;
  }
}

/** A folder standing for `C:\` (other drives are absent): `C:\X\y` is `<root>/X/Y` whatever the case. */
export class FixtureWindowsFiles implements WindowsFiles {
  readonly fs: RootFs;
  constructor(root: string) {
    this.fs = new RootFs(root);
  }
  /** `C:\windows\system32` → `/Windows/System32` as the fixture spells it; undefined for other drives. */
  private local(winPath: string): string | undefined {
    if (!/^c:(\\|$)/i.test(winPath)) return undefined;
    let real = '';
    for (const part of winPath.slice(2).split('\\').filter(Boolean)) {
      const names = this.fs.list(real || '/');
      real += '/' + (names.includes(part) ? part : (names.find((n) => n.toLowerCase() === part.toLowerCase()) ?? part));
    }
    return real || '/';
  }
  file(winPath: string, area: string, origin: string): FileFinding | undefined {
    const p = this.local(winPath);
    const f = p === undefined ? undefined : fileAt(this.fs, p, area, origin);
    return f && { ...f, path: winPath };
  }
  list(winDir: string): string[] {
    const p = this.local(winDir);
    return p === undefined ? [] : this.fs.list(p);
  }
  isDirectory(winDir: string): boolean {
    const p = this.local(winDir);
    return p !== undefined && (this.fs.lstat(p)?.isDirectory() ?? false);
  }
  read(winPath: string): Buffer | undefined {
    const p = this.local(winPath);
    if (p === undefined) return undefined;
    try {
      return readFileSync(this.fs.at(p));
    } catch {
      return undefined;
    }
  }
  folderPath(winDir: string): string {
    return this.local(winDir) ?? winDir;
  }
}
