import { execFile } from 'node:child_process';
import type { RegistryDump } from './windows-areas.ts';

const HIVES: Record<string, string> = {
  HKEY_LOCAL_MACHINE: 'HKLM',
  HKEY_CURRENT_USER: 'HKCU',
  HKEY_USERS: 'HKU',
  HKEY_CLASSES_ROOT: 'HKCR',
  HKEY_CURRENT_CONFIG: 'HKCC',
};

/** `HKEY_LOCAL_MACHINE\X` → `HKLM\X` (short names stay). */
export function shortHive(key: string): string {
  const i = key.indexOf('\\');
  const hive = i < 0 ? key : key.slice(0, i);
  return (HIVES[hive.toUpperCase()] ?? hive) + (i < 0 ? '' : key.slice(i));
}

/**
 * The text `reg query KEY [/s]` prints, as a RegistryDump. Keys are the lines starting `HKEY_`; values are indented
 * `NAME    TYPE    DATA` (four spaces between; a name may hold spaces). Kept: REG_SZ and REG_EXPAND_SZ (text,
 * unexpanded), REG_DWORD and REG_QWORD (numbers), REG_MULTI_SZ (a list; reg prints `\0` between items). Dropped:
 * binary and untyped values (nothing here reads them), and an unset default (`(value not set)`). The default value
 * is named `(Default)` as reg names it.
 */
export function parseRegQuery(text: string, into: RegistryDump = {}): RegistryDump {
  let key: Record<string, string | number | string[]> | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (/^HKEY_/i.test(line)) {
      const name = shortHive(line.trimEnd());
      key = into[name] ??= {};
      continue;
    }
    const m = /^ {4}(.*?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/.exec(line);
    if (!m || !key) continue;
    const name = m[1] ?? '';
    const type = m[2] ?? '';
    const data = (m[3] ?? '').replace(/\r$/, '');
    switch (type) {
      case 'REG_SZ':
      case 'REG_EXPAND_SZ':
        if (name === '(Default)' && data === '(value not set)') break;
        key[name] = data;
        break;
      case 'REG_DWORD':
      case 'REG_QWORD': {
        const n = /^0x[0-9a-f]+$/i.test(data) ? Number.parseInt(data.slice(2), 16) : Number.NaN;
        if (Number.isSafeInteger(n)) key[name] = n;
        break;
      }
      case 'REG_MULTI_SZ':
        key[name] = data === '' ? [] : data.split('\\0').filter((s) => s !== '');
        break;
    }
  }
  return into;
}

/** What one `reg query` gave: its values, or that the key is absent, or why it could not be read. */
export type RegRead = { ok: true; dump: RegistryDump } | { ok: false; absent: boolean; reason: string };

/** Runs `reg query KEY ARGS…` (reg.exe; Windows only) and parses it. */
export function regQuery(key: string, args: readonly string[] = []): Promise<RegRead> {
  return new Promise((resolve) => {
    execFile(
      'reg',
      ['query', key, ...args],
      { windowsHide: true, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve({ ok: true, dump: parseRegQuery(stdout) });
        const said = `${stderr}${stdout}`.trim().split(/\r?\n/)[0] ?? '';
        // reg exits 1 both for an absent key and for a denied one; only the message tells them apart.
        const absent = /unable to find|cannot find|not find the specified/i.test(said);
        resolve({ ok: false, absent, reason: said || (err as NodeJS.ErrnoException).code || err.message });
      },
    );
  });
}
