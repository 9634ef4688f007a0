// What a compiled bundle was built from, cheaply: the number of files, their total size and the newest change time
// under each source root. The bin shim compares it with the stamp the build wrote and runs the TypeScript sources
// instead of a bundle that no longer matches them (a developer edited a file and did not rebuild), so a stale bundle
// is never run. Plain JavaScript: the shim imports it before it knows which Node it is on.
import { builtin } from './builtin.mjs';

const { readFileSync, readdirSync, statSync } = await builtin('node:fs');
const { sep } = await builtin('node:path');
const { fileURLToPath } = await builtin('node:url');

/** The stamp of `roots` (absolute folders or files); a root that cannot be read makes it differ. */
export function sourceStamp(roots) {
  let files = 0;
  let bytes = 0;
  let newest = 0;
  const add = (st) => {
    files += 1;
    bytes += st.size;
    // Whole milliseconds: the Windows Node (under Wine, or on Windows reading a Linux-built tree) sees times in 100 ns
    // units, Linux in nanoseconds, so a finer figure could differ for the same file and a fresh bundle look stale.
    newest = Math.max(newest, Math.floor(st.mtimeMs), Math.floor(st.ctimeMs));
  };
  // Runs at every start of a command: one readdir per folder, one stat per file, no path normalisation.
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = dir + sep + e.name;
      if (e.isDirectory()) walk(path);
      else add(statSync(path));
    }
  };
  const visit = (root) => {
    const st = statSync(root, { throwIfNoEntry: false });
    if (!st) files += 1e9;
    else if (st.isDirectory()) walk(root.endsWith(sep) ? root.slice(0, -1) : root);
    else add(st);
  };
  for (const root of roots) visit(root);
  return `${files}:${bytes}:${newest}`;
}

/**
 * The compiled entry when `stampFile` (written by the build next to the bundle) matches the sources it names,
 * else undefined. Roots in the stamp file are relative to its folder.
 */
export function freshCompiled(compiledEntry, stampFile) {
  // both are file URLs
  try {
    const recorded = JSON.parse(readFileSync(stampFile, 'utf8'));
    if (!recorded || !Array.isArray(recorded.roots) || typeof recorded.stamp !== 'string') return undefined;
    const roots = recorded.roots.map((r) => fileURLToPath(new URL(r, stampFile)));
    if (sourceStamp(roots) !== recorded.stamp) return undefined;
    return statSync(fileURLToPath(compiledEntry), { throwIfNoEntry: false })?.isFile() ? compiledEntry : undefined;
  } catch {
    return undefined;
  }
}
