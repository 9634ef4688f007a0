/**
 * What Windows' `reg query` prints, read back: one parser for every room that runs reg.exe (the Critical Areas Scan
 * over the live registry, `doctor` reading the native-host keys and the logon start). Text in, data out; running
 * reg.exe stays with the caller.
 */

/** Registry keys (short hive names: `HKLM\…`, `HKCU\…`) → value name → data. */
export type RegistryDump = Record<string, Record<string, string | number | string[]>>;

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
 * is named `(Default)` as reg names it (in English; other languages name it in theirs).
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

/**
 * The one text value `reg query KEY /ve` (the default value) or `reg query KEY /v NAME` prints, or undefined. Found
 * by position, not by name: the default value's name is localised (`(Default)`, `(Standard)`…), and reg prints the
 * key in the case it stores it, not the case it was asked in.
 */
export function singleTextValue(text: string): string | undefined {
  for (const values of Object.values(parseRegQuery(text))) {
    for (const data of Object.values(values)) if (typeof data === 'string') return data.trim() === '' ? undefined : data.trim();
  }
  return undefined;
}
