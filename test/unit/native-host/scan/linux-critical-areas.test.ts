import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finding } from '#native-host/scan/critical-areas/collector.ts';
import { LinuxCriticalAreas } from '#native-host/scan/critical-areas/linux.ts';
import {
  crontabCommands,
  desktopExecCommands,
  preloadEntries,
  unitExecCommands,
} from '#native-host/scan/critical-areas/linux-autostart.ts';
import { decodeTaint, parseProcModules } from '#native-host/scan/critical-areas/linux-kernel.ts';
import { commandPaths } from '#native-host/scan/critical-areas/command-paths.ts';
import { scanCriticalAreas } from '#native-host/scan/scan-critical-areas.ts';
import { ScanSession } from '#native-host/scan/scan-session.ts';
import { HashSetIndicators } from './hash-set-indicators.ts';
import { fixtureTree } from '#test-helpers/fixture-tree.ts';

/**
 * A fake Linux root: /proc with three processes (a normal one, one whose executable was deleted, a memory-only one),
 * kernel taint and modules, every autostart location with something planted in it, and a boot disk.
 */
let root: string;
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const { put, link } = fixtureTree(() => root);

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-linux-root-')));
  // processes
  put('usr/bin/sshd', 'sshd program');
  link(join(root, 'usr/bin/sshd'), 'proc/100/exe');
  put('proc/100/cmdline', '/usr/bin/sshd\0-D\0');
  put('proc/100/comm', 'sshd\n');
  link('/tmp/.x/miner (deleted)', 'proc/200/exe'); // gone from disk: the fixture cannot keep the image open
  put('proc/200/cmdline', '/tmp/.x/miner\0--pool\0evil\0');
  put('proc/200/comm', 'miner\n');
  link('/memfd:payload (deleted)', 'proc/300/exe');
  put('proc/300/comm', 'payload\n');
  mkdirSync(join(root, 'proc/2'), { recursive: true }); // a kernel thread: no exe
  // kernel
  put('proc/sys/kernel/tainted', String((1 << 0) | (1 << 12) | (1 << 13)) + '\n');
  put('proc/sys/kernel/osrelease', '6.1.0-test\n');
  put('proc/modules', 'rootkit 16384 0 - Live 0x0000000000000000 (OE)\next4 1000000 1 - Live 0x0000000000000000\n');
  put('sys/module/rootkit/taint', 'OE\n');
  put('sys/module/ext4/taint', '\n');
  put('lib/modules/6.1.0-test/modules.dep', 'extra/rootkit.ko.xz:\nkernel/fs/ext4/ext4.ko.xz: kernel/fs/jbd2.ko.xz\n');
  put('lib/modules/6.1.0-test/extra/rootkit.ko.xz', 'rootkit module');
  put('lib/modules/6.1.0-test/kernel/fs/ext4/ext4.ko.xz', 'ext4 module');
  // autostart
  put(
    'etc/passwd',
    'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/bash\n',
  );
  mkdirSync(join(root, 'root'));
  put('opt/evil/run', 'evil payload', 0o755);
  put(
    'etc/systemd/system/evil.service',
    '[Service]\nExecStart=-/opt/evil/run --daemon \\\n  --quiet\nExecStartPre=@/usr/bin/sshd sshd-alias -t\n',
  );
  put('usr/lib/systemd/system/real.service', '[Service]\nExecStart=/usr/bin/sshd -D\n');
  link('/usr/lib/systemd/system/real.service', 'etc/systemd/system/multi-user.target.wants/real.service');
  put('etc/systemd/system/real.service.d/override.conf', '[Service]\nExecStart=\nExecStart=/opt/evil/run\n');
  put('home/alice/.config/systemd/user/agent.service', '[Service]\nExecStart=/home/alice/.local/bin/agent\n');
  put('home/alice/.local/bin/agent', 'user agent');
  put(
    'etc/crontab',
    'SHELL=/bin/sh\n# m h dom mon dow user command\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n*/5 * * * * root /opt/cron/job.sh >/dev/null 2>&1\n',
  );
  put('opt/cron/job.sh', '#!/bin/sh\n');
  put('etc/cron.d/backdoor', '@reboot root /bin/sh -c "/var/tmp/.b/beacon"\n');
  put('var/tmp/.b/beacon', 'beacon');
  put('var/spool/cron/crontabs/alice', '0 3 * * * /home/alice/.local/bin/agent --nightly\n');
  put('etc/cron.daily/logrotate', '#!/bin/sh\n');
  put('etc/rc.local', '#!/bin/sh\n/opt/evil/run &\nexit 0\n', 0o755);
  put('etc/profile', 'export PATH\n');
  put('etc/profile.d/x.sh', 'true\n');
  put('home/alice/.bashrc', 'alias ls=ls\n');
  put('etc/xdg/autostart/tray.desktop', '[Desktop Entry]\nName=Tray\nExec=/usr/bin/sshd %U\n[Desktop Action x]\nExec=/never/looked/at\n');
  put('home/alice/.config/autostart/updater.desktop', '[Desktop Entry]\nExec=sh -c "/home/alice/.cache/upd"\n');
  put('home/alice/.cache/upd', 'updater');
  put('etc/ld.so.preload', '/usr/lib/libhide.so\n# comment\n/usr/lib/missing.so\n');
  put('usr/lib/libhide.so', 'hiding library');
  put('usr/sbin/helper', 'helper');
  // boot disk: / is on 8:1, a partition of sda
  put('proc/self/mountinfo', '27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n22 27 0:21 / /proc rw - proc proc rw\n');
  put('sys/devices/pci0/sda/uevent', 'MAJOR=8\nMINOR=0\nDEVNAME=sda\nDEVTYPE=disk\n');
  put('sys/devices/pci0/sda/sda1/partition', '1\n');
  link('../../devices/pci0/sda/sda1', 'sys/dev/block/8:1');
  put('dev/sda', Buffer.concat([Buffer.alloc(510, 7), Buffer.from([0x55, 0xaa]), Buffer.alloc(1024, 1)]));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function findings(): Promise<Finding[]> {
  const out: Finding[] = [];
  for await (const f of new LinuxCriticalAreas({ root, extraHomes: [] }).collect()) out.push(f);
  return out;
}

describe('Linux critical areas on a fixture root', () => {
  it('lists running processes, marking deleted and memory-only executables, and skips kernel threads', async () => {
    const procs = (await findings()).filter((f) => f.kind === 'observation' && f.observation.document === 'ProcessItem');
    expect(procs.map((p) => (p.kind === 'observation' ? p.observation : undefined))).toEqual([
      { document: 'ProcessItem', pid: 100, name: 'sshd', path: '/usr/bin/sshd', arguments: '/usr/bin/sshd -D', deleted: false },
      { document: 'ProcessItem', pid: 200, name: 'miner', path: '/tmp/.x/miner', arguments: '/tmp/.x/miner --pool evil', deleted: true },
      { document: 'ProcessItem', pid: 300, name: 'payload', path: '/memfd:payload', arguments: '', deleted: true },
    ]);
    const images = (await findings()).filter((f) => f.kind === 'file' && f.area === 'process');
    expect(images).toEqual([expect.objectContaining({ path: '/usr/bin/sshd', readPath: join(root, 'proc/100/exe'), pid: 100 })]);
  });

  it('decodes the kernel taint and names the tainted module, and ties loaded modules to their files', async () => {
    const all = await findings();
    const taint = all.find((f) => f.kind === 'kernel-taint');
    expect(taint).toEqual({
      kind: 'kernel-taint',
      tainted: 12289,
      flags: [
        { bit: 0, letter: 'P', meaning: 'proprietary module loaded' },
        { bit: 12, letter: 'O', meaning: 'externally-built (out-of-tree) module loaded' },
        { bit: 13, letter: 'E', meaning: 'unsigned module loaded' },
      ],
      taintedModules: [{ name: 'rootkit', taint: 'OE' }],
    });
    expect(all.filter((f) => f.kind === 'file' && f.area === 'kernel-module').map((f) => f.kind === 'file' && [f.path, f.origin])).toEqual([
      ['/lib/modules/6.1.0-test/extra/rootkit.ko.xz', 'loaded module rootkit (taint OE)'],
      ['/lib/modules/6.1.0-test/kernel/fs/ext4/ext4.ko.xz', 'loaded module ext4'],
    ]);
  });

  it('finds what every autostart location starts, and the locations themselves', async () => {
    const auto = (await findings())
      .filter((f) => f.kind === 'file' && f.area === 'autostart')
      .map((f) => (f.kind === 'file' ? `${f.path} <- ${f.origin}` : ''));
    expect(auto).toEqual(
      expect.arrayContaining([
        '/etc/systemd/system/evil.service <- systemd unit /etc/systemd/system/evil.service',
        '/opt/evil/run <- systemd unit /etc/systemd/system/evil.service ExecStart',
        '/usr/bin/sshd <- systemd unit /etc/systemd/system/evil.service ExecStartPre',
        '/usr/lib/systemd/system/real.service <- systemd unit /etc/systemd/system/multi-user.target.wants/real.service (/etc/systemd/system/multi-user.target.wants/real.service → /usr/lib/systemd/system/real.service)',
        '/opt/evil/run <- systemd unit /etc/systemd/system/real.service.d/override.conf ExecStart',
        '/home/alice/.local/bin/agent <- systemd unit /home/alice/.config/systemd/user/agent.service ExecStart',
        '/opt/cron/job.sh <- cron /etc/crontab',
        '/var/tmp/.b/beacon <- cron /etc/cron.d/backdoor',
        '/home/alice/.local/bin/agent <- cron /var/spool/cron/crontabs/alice',
        '/etc/cron.daily/logrotate <- cron',
        '/etc/rc.local <- rc.local',
        '/opt/evil/run <- rc.local',
        '/etc/profile <- shell profile',
        '/etc/profile.d/x.sh <- shell profile',
        '/home/alice/.bashrc <- shell profile',
        '/usr/bin/sshd <- XDG autostart /etc/xdg/autostart/tray.desktop Exec',
        '/home/alice/.cache/upd <- XDG autostart /home/alice/.config/autostart/updater.desktop Exec',
        '/etc/ld.so.preload <- ld.so.preload',
        '/usr/lib/libhide.so <- ld.so.preload entry',
      ]),
    );
    const missing = (await findings()).find((f) => f.kind === 'unavailable' && f.what.startsWith('/usr/lib/missing.so'));
    expect(missing).toBeDefined();
  });

  it("names the system binary folders and users' startup folders to walk", async () => {
    const folders = (await findings()).filter((f) => f.kind === 'folder').map((f) => (f.kind === 'folder' ? `${f.area} ${f.path}` : ''));
    expect(folders).toEqual(['system-binaries /usr/bin', 'system-binaries /usr/sbin', 'user-startup /home/alice/.config/autostart']);
  });

  it('takes the boot sector from the disk holding /, not from the partition', async () => {
    const boot = (await findings()).find((f) => f.kind === 'file' && f.area === 'boot-sector');
    expect(boot).toMatchObject({ path: '/dev/sda', stat: { size: 512 }, hashOptions: { limit: 512 } });
  });

  it('a scan with a hash list finds the planted objects where they are, and reads each file once', async () => {
    const mbr = readFileSync(join(root, 'dev/sda')).subarray(0, 512);
    const set = new HashSetIndicators(
      [
        { id: 'evil-run', hash: 'sha256', value: sha('evil payload') },
        { id: 'libhide', hash: 'sha256', value: sha('hiding library') },
        { id: 'bootkit', hash: 'sha256', value: sha(mbr) },
        { id: 'rootkit-ko', hash: 'md5', value: createHash('md5').update('rootkit module').digest('hex') },
      ],
      { processNames: ['miner'] },
    );
    const session = new ScanSession({ indicators: [{ set, source: 'ioc' }], maxFileBytes: 1 << 20 });
    const kernel = await scanCriticalAreas(session, [new LinuxCriticalAreas({ root, extraHomes: [] })], { root });
    await session.drain();
    const got = session.matches.map((m) => `${m.iocId} ${m.area} ${m.path}${m.pid ? ` pid ${m.pid}` : ''}`).sort();
    expect(got).toEqual([
      'bootkit boot-sector /dev/sda',
      'evil-run autostart /opt/evil/run',
      'evil-run autostart /opt/evil/run',
      'evil-run autostart /opt/evil/run',
      'libhide autostart /usr/lib/libhide.so',
      'process-miner process /tmp/.x/miner pid 200',
      'rootkit-ko kernel-module /lib/modules/6.1.0-test/extra/rootkit.ko.xz',
    ]);
    // /opt/evil/run is named three times (a unit, a drop-in, rc.local) and read once.
    const distinctFilesRead = session.counters.hashed;
    expect(distinctFilesRead).toBeLessThan(session.counters.filesSeen);
    expect(session.notExamined).toEqual(
      expect.arrayContaining([expect.objectContaining({ area: 'process', what: expect.stringContaining('/tmp/.x/miner') })]),
    );
    expect(kernel?.tainted).toBe(12289);
  });
});

describe('reading autostart syntax', () => {
  it('systemd Exec lines: prefixes, @argv0, continuations, resets', () => {
    expect(unitExecCommands('ExecStart=\nExecStart=!!/usr/bin/x a\nExecStartPre=@/bin/y name -v\nExecStop=-/bin/z \\\n --later\n')).toEqual(
      [
        { key: 'ExecStart', command: '/usr/bin/x a' },
        { key: 'ExecStartPre', command: '/bin/y -v' },
        { key: 'ExecStop', command: '/bin/z   --later' },
      ],
    );
  });

  it('crontabs with and without the user column, @reboot, variables and comments', () => {
    expect(crontabCommands('A=1\n# x\n*/5 * * * * root /a b\n@reboot bob /c\n', true)).toEqual(['/a b', '/c']);
    expect(crontabCommands('0 3 * * * /d "e f"\n', false)).toEqual(['/d "e f"']);
  });

  it('.desktop Exec only from the main section; ld.so.preload separated by spaces, colons and lines', () => {
    expect(desktopExecCommands('[Desktop Entry]\nTryExec=/t\nExec=/e %u\n[Desktop Action a]\nExec=/no\n')).toEqual(['/t', '/e %u']);
    expect(preloadEntries('/a.so /b.so:/c.so\n#/d.so\nrelative.so\n')).toEqual(['/a.so', '/b.so', '/c.so']);
  });

  it('a command names its program and the absolute paths it is given, looking into sh -c once', () => {
    expect(commandPaths('FOO=1 python3 /opt/x.py --log /var/log/x >/dev/null')).toEqual(['python3', '/opt/x.py', '/var/log/x']);
    expect(commandPaths(`/bin/bash -c '/tmp/a; curl x | sh'`)).toEqual(['/bin/bash', '/tmp/a']);
  });

  it('kernel module taint column and taint bits', () => {
    expect(parseProcModules('a 1 0 - Live 0x0 (POE)\nb 1 0 - Live 0x0\n')).toEqual([
      { name: 'a', taint: 'POE' },
      { name: 'b', taint: '' },
    ]);
    expect(decodeTaint(1 << 25)).toEqual([{ bit: 25, letter: '?', meaning: 'taint bit 25' }]);
  });
});
