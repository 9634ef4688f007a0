import { execFile } from 'node:child_process';
// The parser is shared with doctor (install/): @sandgate/shared/reg-query.
import { parseRegQuery, type RegistryDump } from '@sandgate/shared/reg-query';

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
