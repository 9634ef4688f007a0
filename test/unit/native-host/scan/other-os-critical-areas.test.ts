import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finding } from '#native-host/scan/critical-areas/collector.ts';
import { MacosCriticalAreasFixtureOnly, launchdProgram } from '#native-host/scan/critical-areas/macos-fixture-only.ts';
import { parsePlistXml } from '#native-host/scan/critical-areas/plist-xml.ts';
import {
  WindowsCriticalAreasFixtureOnly,
  expandWindowsPath,
  windowsCommandPaths,
  type RegistryDump,
} from '#native-host/scan/critical-areas/windows-fixture-only.ts';
import { scanCriticalAreas } from '#native-host/scan/scan-critical-areas.ts';
import { ScanSession } from '#native-host/scan/scan-session.ts';
import { HashSetIndicators } from './hash-set-indicators.ts';

const FIXTURES = join(import.meta.dirname, '../../../fixtures/scan');
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

async function all(c: { collect(): AsyncIterable<Finding> }): Promise<Finding[]> {
  const out: Finding[] = [];
  for await (const f of c.collect()) out.push(f);
  return out;
}
const describeFinding = (f: Finding) =>
  f.kind === 'file'
    ? `${f.area} ${f.path} <- ${f.origin}`
    : f.kind === 'unavailable'
      ? `unavailable ${f.area} ${f.what}`
      : f.kind === 'folder'
        ? `folder ${f.area} ${f.path}`
        : `${f.kind}`;

describe('Windows critical areas (fixture only, not runnable on this machine)', () => {
  const registry = JSON.parse(readFileSync(join(FIXTURES, 'windows/registry.json'), 'utf8')) as RegistryDump;
  const collector = () => new WindowsCriticalAreasFixtureOnly({ root: join(FIXTURES, 'windows/C'), registry });

  it('says it does not run here', () => {
    expect(collector().runnableHere).toBe(false);
  });

  it('follows Run keys of every hive, Winlogon, services with their DLLs, drivers, scheduled tasks and startup folders', async () => {
    const found = (await all(collector())).map(describeFinding);
    expect(found).toEqual(
      expect.arrayContaining([
        'registry-run C:\\Program Files\\Good\\good.exe <- HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Good',
        'registry-run C:\\Users\\alice\\AppData\\Local\\Temp\\upd.exe <- HKU\\S-1-5-21-1000\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater',
        'registry-run C:\\Windows\\System32\\evil.dll <- HKLM\\Software\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\RunOnce\\Once',
        'autostart C:\\Windows\\system32\\userinit.exe <- HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\Userinit',
        'service C:\\Windows\\System32\\evilsvc.exe <- service EvilSvc ImagePath',
        'service C:\\Windows\\System32\\evil.dll <- service EvilSvc ServiceDll',
        'service C:\\Windows\\System32\\drivers\\rk.sys <- service rk ImagePath',
        'scheduled-task C:\\Windows\\System32\\Tasks\\Microsoft\\Updater <- scheduled task \\Microsoft\\Updater',
        'scheduled-task C:\\Users\\alice\\AppData\\Local\\Temp\\task.exe <- scheduled task \\Microsoft\\Updater Exec',
        'scheduled-task C:\\Windows\\System32\\evil.dll <- scheduled task \\Microsoft\\Updater Exec',
        'folder user-startup /Users/alice/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup',
        'folder system-binaries /Windows/System32',
        'unavailable boot-sector \\\\.\\PhysicalDrive0',
      ]),
    );
    const svc = (await all(collector())).find(
      (f) => f.kind === 'observation' && f.observation.document === 'ServiceItem' && f.observation.name === 'EvilSvc',
    );
    expect(svc).toMatchObject({
      observation: { descriptiveName: 'Evil Service', mode: 'auto', path: 'C:\\Windows\\System32\\evilsvc.exe' },
    });
  });

  it('a hash scan finds the planted payloads in every place that starts them, and the boot sector', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-win-'));
    try {
      const disk = join(dir, 'PhysicalDrive0');
      writeFileSync(disk, Buffer.concat([Buffer.alloc(512, 9), Buffer.alloc(512, 1)]));
      const set = new HashSetIndicators([
        { id: 'dll', hash: 'sha256', value: sha('service dll') },
        { id: 'mbr', hash: 'sha256', value: sha(Buffer.alloc(512, 9)) },
        { id: 'lnk', hash: 'sha256', value: sha('startup lnk') },
      ]);
      const session = new ScanSession({ indicators: [{ set, source: 'ioc' }], maxFileBytes: 1 << 20 });
      await scanCriticalAreas(
        session,
        [new WindowsCriticalAreasFixtureOnly({ root: join(FIXTURES, 'windows/C'), registry, physicalDrive: disk })],
        { root: join(FIXTURES, 'windows/C') },
      );
      await session.drain();
      expect(session.matches.map((m) => `${m.iocId} ${m.area} ${m.origin}`).sort()).toEqual([
        'dll registry-run HKLM\\Software\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\RunOnce\\Once',
        'dll scheduled-task scheduled task \\Microsoft\\Updater Exec',
        'dll service service EvilSvc ServiceDll',
        'dll system-binaries system binary folder',
        'lnk user-startup startup folder',
        'mbr boot-sector first 512 bytes of the boot disk',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('expands the path forms services and Run keys use', () => {
    expect(expandWindowsPath('%SystemRoot%\\x.exe')).toBe('C:\\Windows\\x.exe');
    expect(expandWindowsPath('\\SystemRoot\\System32\\drivers\\a.sys')).toBe('C:\\Windows\\System32\\drivers\\a.sys');
    expect(expandWindowsPath('\\??\\C:\\a.sys')).toBe('C:\\a.sys');
    expect(expandWindowsPath('system32\\drivers\\b.sys')).toBe('C:\\Windows\\system32\\drivers\\b.sys');
    expect(windowsCommandPaths('C:\\Program Files\\App\\app.exe /x "D:\\data\\f.txt"')).toEqual([
      'C:\\Program Files\\App\\app.exe',
      'D:\\data\\f.txt',
    ]);
  });
});

describe('macOS critical areas (fixture only, not runnable on this machine)', () => {
  const root = join(FIXTURES, 'macos/root');

  it('follows launchd daemons and agents (system and per user) to their programs, and lists what it cannot read', async () => {
    const c = new MacosCriticalAreasFixtureOnly({ root });
    expect(c.runnableHere).toBe(false);
    const found = (await all(c)).map(describeFinding);
    expect(found).toEqual(
      expect.arrayContaining([
        'launchd /Library/LaunchDaemons/com.evil.agent.plist <- launchd daemon',
        'launchd /Library/Application Support/Evil/agent <- launchd job com.evil.agent (/Library/LaunchDaemons/com.evil.agent.plist)',
        'launchd /Users/alice/.hidden/p.py <- launchd job com.user.helper (/Users/alice/Library/LaunchAgents/com.user.helper.plist)',
        'launchd /usr/bin/python3 <- launchd job com.user.helper (/Users/alice/Library/LaunchAgents/com.user.helper.plist)',
        'autostart /private/var/at/tabs/alice <- cron',
        'login-item /Users/alice/Library/Application Support/com.apple.backgroundtaskmanagementagent/backgrounditems.btm <- login items store',
        'unavailable launchd /Library/LaunchAgents/com.binary.plist',
        'unavailable boot-sector boot disk',
      ]),
    );
  });

  it('reads XML plists (DOCTYPE and all) into values', () => {
    const text = readFileSync(join(root, 'Users/alice/Library/LaunchAgents/com.user.helper.plist'), 'utf8');
    expect(parsePlistXml(text)).toEqual({
      Label: 'com.user.helper',
      ProgramArguments: ['/usr/bin/python3', '/Users/alice/.hidden/p.py', '--quiet'],
      KeepAlive: { SuccessfulExit: false },
    });
    expect(launchdProgram(parsePlistXml(text))).toEqual({
      label: 'com.user.helper',
      program: '/usr/bin/python3',
      args: ['/usr/bin/python3', '/Users/alice/.hidden/p.py', '--quiet'],
    });
  });
});
