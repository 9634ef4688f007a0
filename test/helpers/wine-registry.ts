import { runWine, type WineNode } from './wine-node.ts';

/**
 * Wine quotes an argument holding spaces or quotes again on its way to cmd.exe, which then misreads it: keys go into a
 * `cmd /c` line bare, so only keys without spaces or cmd metacharacters are accepted.
 */
function bare(key: string): string {
  if (!/^[A-Za-z0-9_.\\-]+$/.test(key)) throw new Error(`registry key ${key} cannot go bare into a cmd line`);
  return key;
}

const HIVES: Record<string, string> = { HKEY_CURRENT_USER: 'HKCU', HKEY_LOCAL_MACHINE: 'HKLM' };

/**
 * The default value of each registry key in Wine's registry, read with the real `reg query KEY /ve` (one `cmd` for
 * all keys, so one Wine start). A key that is absent is missing from the map.
 */
export async function readRegistryDefaults(
  w: Extract<WineNode, { available: true }>,
  keys: readonly string[],
  outDir: string,
): Promise<Map<string, string>> {
  const line = keys.map((k) => `reg query ${bare(k)} /ve`).join(' & ');
  const r = await runWine(w, 'cmd', ['/c', line], { outDir });
  const found = new Map<string, string>();
  let current: string | undefined;
  for (const raw of r.stdout.split(/\r?\n/)) {
    const head = /^(HKEY_[A-Z_]+)\\(.+)$/.exec(raw);
    if (head) {
      current = `${HIVES[head[1]!] ?? head[1]}\\${head[2]}`;
      continue;
    }
    const value = /^\s+\(Default\)\s+REG_SZ\s+(.*)$/.exec(raw);
    if (value && current) found.set(current.toLowerCase(), value[1]!);
  }
  // reg prints keys as it stores them; callers ask in the case they wrote.
  return new Map(keys.flatMap((k) => (found.has(k.toLowerCase()) ? [[k, found.get(k.toLowerCase())!] as const] : [])));
}

/** Sets a key's default value with `reg add` (what a test plants). */
export async function setRegistryDefault(w: Extract<WineNode, { available: true }>, key: string, value: string, outDir: string) {
  const r = await runWine(w, 'reg', ['add', key, '/ve', '/t', 'REG_SZ', '/d', value, '/f'], { outDir });
  if (r.code !== 0) throw new Error(`reg add ${key} failed: ${r.stdout}${r.stderr}`);
}

/** Deletes keys with `reg delete KEY /f`; absent keys are fine. */
export async function deleteRegistryKeys(w: Extract<WineNode, { available: true }>, keys: readonly string[], outDir: string) {
  if (keys.length === 0) return;
  await runWine(w, 'cmd', ['/c', keys.map((k) => `reg delete ${bare(k)} /f`).join(' & ')], { outDir });
}

/** Removes the agent's logon start (`HKCU\…\Run` value `Sandgate`) that a per-user `sandgate install` sets; absent is fine. */
export async function deleteLogonStart(w: Extract<WineNode, { available: true }>, outDir: string) {
  await runWine(w, 'reg', ['delete', 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run', '/v', 'Sandgate', '/f'], { outDir });
}
