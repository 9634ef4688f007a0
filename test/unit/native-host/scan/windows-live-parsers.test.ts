import { describe, expect, it } from 'vitest';
import type { Finding } from '#native-host/scan/critical-areas/collector.ts';
import { WindowsCriticalAreasLive, ownSid } from '#native-host/scan/critical-areas/windows-live.ts';
import {
  csvFields,
  decodeOutput,
  parseTasklistCsv,
  parseWmicCsv,
  windowsProcesses,
} from '#native-host/scan/critical-areas/windows-processes.ts';
import { parseRegQuery } from '@sandgate/shared/reg-query';
import type { RegRead } from '#native-host/scan/critical-areas/windows-reg-query.ts';

describe('reading the live Windows registry: reg query output', () => {
  // The parser itself: test/unit/shared/reg-query-output.test.ts.
  it('finds this user among the profiles by %USERPROFILE%, so HKCU is not read twice', () => {
    const profiles = parseRegQuery(
      [
        'HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\S-1-5-21-1-2-3-1001',
        '    ProfileImagePath    REG_EXPAND_SZ    C:\\Users\\bob',
        'HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\S-1-5-21-1-2-3-1000',
        '    ProfileImagePath    REG_EXPAND_SZ    C:\\Users\\alice',
      ].join('\r\n'),
    );
    expect(ownSid(profiles, 'c:\\users\\ALICE')).toBe('S-1-5-21-1-2-3-1000');
    expect(ownSid(profiles, undefined)).toBeUndefined();
  });
});

describe('listing Windows processes', () => {
  it('parses tasklist CSV (quoted, names only) and wmic CSV (image paths, a comma in a path kept)', () => {
    expect(csvFields('"a ""b""",c,"d,e"')).toEqual(['a "b"', 'c', 'd,e']);
    expect(parseTasklistCsv('"System Idle Process","0","Services","0","8 K"\r\n"app.exe","4242","Console","1","1,024 K"\r\n')).toEqual([
      { pid: 0, name: 'System Idle Process' },
      { pid: 4242, name: 'app.exe' },
    ]);
    const wmic = decodeOutput(
      Buffer.concat([
        Buffer.from([0xff, 0xfe]),
        Buffer.from('\r\nNode,ExecutablePath,Name,ProcessId\r\nPC,C:\\a,b\\x.exe,x.exe,7\r\nPC,,System,4\r\n', 'utf16le'),
      ]),
    );
    expect(parseWmicCsv(wmic)).toEqual([
      { pid: 7, name: 'x.exe', path: 'C:\\a,b\\x.exe' },
      { pid: 4, name: 'System' },
    ]);
  });

  it('a listing that works in no way makes the area unavailable, with what each tool said (never silently empty)', async () => {
    const out: Finding[] = [];
    for await (const f of windowsProcesses(async () => ({
      reason: 'wmic: Error: Invalid query; tasklist listed 0 process(es), not this one',
    })))
      out.push(f);
    expect(out).toEqual([
      {
        kind: 'unavailable',
        area: 'process',
        what: 'running processes',
        reason: 'no process listing works here (wmic: Error: Invalid query; tasklist listed 0 process(es), not this one)',
      },
    ]);
  });

  it('names only (tasklist): each process observed, and the images said to be unavailable', async () => {
    const out: Finding[] = [];
    for await (const f of windowsProcesses(async () => ({ processes: [{ pid: 9, name: 'a.exe' }] }))) out.push(f);
    expect(
      out.map((f) => (f.kind === 'unavailable' ? `unavailable ${f.what}` : f.kind === 'kernel-taint' ? f.kind : `${f.kind} ${f.path}`)),
    ).toEqual(['unavailable process images', 'observation a.exe']);
  });
});

describe('the live collector (registry seam)', () => {
  it('a key it may not read is reported unavailable by name; an absent key is just empty', async () => {
    const query = async (key: string): Promise<RegRead> => {
      if (key === 'HKLM\\System\\CurrentControlSet\\Services') return { ok: false, absent: false, reason: 'ERROR: Access is denied.' };
      if (key === 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run')
        return {
          ok: true,
          dump: parseRegQuery(`${key.replace('HKCU', 'HKEY_CURRENT_USER')}\r\n    Up    REG_SZ    C:\\nowhere\\up.exe\r\n`),
        };
      return { ok: false, absent: true, reason: 'ERROR: The system was unable to find the specified registry key or value.' };
    };
    const none = async function* (): AsyncGenerator<Finding> {};
    const out: Finding[] = [];
    for await (const f of new WindowsCriticalAreasLive({ query, processes: none, drivers: none }).collect()) out.push(f);
    const unavailable = out.filter((f) => f.kind === 'unavailable');
    expect(unavailable.map((f) => f.kind === 'unavailable' && `${f.area} ${f.what}: ${f.reason}`)).toEqual([
      'service HKLM\\System\\CurrentControlSet\\Services: not readable (ERROR: Access is denied.)',
      expect.stringMatching(/^boot-sector \\\\\.\\PhysicalDrive0: not read/),
    ]);
    expect(out).toContainEqual(
      expect.objectContaining({
        kind: 'observation',
        area: 'registry-run',
        origin: 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Up',
      }),
    );
  });
});
