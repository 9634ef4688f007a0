import type { FileFinding } from './collector.ts';
import { COMMAND_SEARCH_PATH, commandPaths } from './command-paths.ts';
import type { RootFs } from './root-fs.ts';

/** A file finding for a system path, through links (what runs is the target); undefined unless a regular file. */
export function fileAt(fs: RootFs, path: string, area: string, origin: string): FileFinding | undefined {
  const r = fs.resolveLink(path);
  if (!r || !r.stat.isFile()) return undefined;
  return {
    kind: 'file',
    area,
    path: r.path,
    ...(fs.root === '/' ? {} : { readPath: fs.at(r.path) }),
    stat: r.stat,
    origin: r.path === path ? origin : `${origin} (${path} → ${r.path})`,
  };
}

/** The files a command line names: its program (looked up in the search path when bare) and absolute arguments. */
export function commandFiles(fs: RootFs, command: string, area: string, origin: string): FileFinding[] {
  const out: FileFinding[] = [];
  for (const p of commandPaths(command)) {
    if (p.startsWith('/')) {
      const f = fileAt(fs, p, area, origin);
      if (f) out.push(f);
    } else if (!p.includes('/')) {
      for (const dir of COMMAND_SEARCH_PATH) {
        const f = fileAt(fs, `${dir}/${p}`, area, origin);
        if (f) {
          out.push(f);
          break;
        }
      }
    }
  }
  return out;
}

/** Users' home folders: root's and every account with a uid from 1000 whose home exists, from /etc/passwd. */
export function homeFolders(fs: RootFs, extra: readonly string[] = []): string[] {
  const homes = new Set<string>();
  for (const line of (fs.readText('/etc/passwd') ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 7) continue;
    const uid = Number(f[2]);
    const home = f[5]!;
    if ((uid === 0 || uid >= 1000) && home.startsWith('/') && home !== '/' && uid !== 65534) homes.add(home);
  }
  for (const h of extra) homes.add(h);
  return [...homes].filter((h) => fs.lstat(h)?.isDirectory()).sort();
}
