// What a compiled bundle was built from, cheaply: the number of files, their total size and the newest change time
// under each source root. The bin shim compares it with the stamp the build wrote and runs the TypeScript sources
// instead of a bundle that no longer matches them (a developer edited a file and did not rebuild), so a stale bundle
// is never run. Plain JavaScript: the shim imports it before it knows which Node it is on.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The stamp of `roots` (absolute folders or files); a root that cannot be read makes it differ. */
export function sourceStamp(roots) {
  let files = 0;
  let bytes = 0;
  let newest = 0;
  const visit = (path) => {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) {
      files += 1e9;
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
      return;
    }
    files += 1;
    bytes += st.size;
    newest = Math.max(newest, st.mtimeMs, st.ctimeMs);
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
