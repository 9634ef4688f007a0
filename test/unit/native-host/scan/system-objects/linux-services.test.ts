import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureTree } from '#test-helpers/fixture-tree.ts';
import type { ServiceObservation } from '#native-host/ioc/observation.ts';
import type { Finding } from '#native-host/scan/critical-areas/collector.ts';
import { RootFs } from '#native-host/scan/critical-areas/root-fs.ts';
import { DEFAULT_UNIT_DIRS, linuxServices } from '#native-host/scan/system-objects/linux-services.ts';
import { parseListUnits, systemActiveStates } from '#native-host/scan/system-objects/systemd-active-states.ts';

let root: string;
const { put, link } = fixtureTree(() => root);

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-units-')));
  // Enabled by an administrator: a link in a *.wants folder.
  put(
    'etc/systemd/system/evil.service',
    '[Unit]\nDescription=Update helper\n[Service]\nExecStart=-/opt/evil/run --daemon \\\n  --quiet\n[Install]\nWantedBy=multi-user.target\n',
  );
  link('/etc/systemd/system/evil.service', 'etc/systemd/system/multi-user.target.wants/evil.service');
  // A vendor unit without [Install] (static), whose program a drop-in replaces; an alias of it.
  put('usr/lib/systemd/system/real.service', '[Unit]\nDescription=Real daemon\n[Service]\nExecStart=/usr/sbin/reald -D\n');
  put('etc/systemd/system/real.service.d/override.conf', '[Service]\nExecStart=\nExecStart=/opt/evil/run\n');
  link('/usr/lib/systemd/system/real.service', 'etc/systemd/system/dbus-org.example.Real.service');
  // Installable but not enabled; masked (a link to /dev/null wins over the vendor file); a bare program name.
  put('usr/lib/systemd/system/idle.service', '[Service]\nExecStart=sshd -D\n[Install]\nWantedBy=multi-user.target\n');
  put('usr/sbin/sshd', 'sshd');
  put('usr/lib/systemd/system/blocked.service', '[Service]\nExecStart=/usr/bin/blocked\n');
  link('/dev/null', 'etc/systemd/system/blocked.service');
  // A template and one enabled instance of it.
  put(
    'usr/lib/systemd/system/getty@.service',
    '[Unit]\nDescription=Getty on %I\n[Service]\nExecStart=-/sbin/agetty -o "-p -- \\\\u" %I $TERM\n[Install]\nWantedBy=getty.target\n',
  );
  link('/usr/lib/systemd/system/getty@.service', 'etc/systemd/system/getty.target.wants/getty@tty1.service');
  // User units: one every user's manager reads, and one of alice's own, enabled in her folder.
  put('usr/lib/systemd/user/pipewire.service', '[Service]\nExecStart=/usr/bin/pipewire\n[Install]\nWantedBy=default.target\n');
  put(
    'home/alice/.config/systemd/user/agent.service',
    '[Unit]\nDescription=Sync agent\n[Service]\nExecStart=%h/.local/bin/agent --sync\n[Install]\nWantedBy=default.target\n',
  );
  link('/home/alice/.config/systemd/user/agent.service', 'home/alice/.config/systemd/user/default.target.wants/agent.service');
  mkdirSync(join(root, 'home/bob'), { recursive: true });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function collect(systemStates: Parameters<typeof linuxServices>[1]['systemStates']): Finding[] {
  return [...linuxServices(new RootFs(root), { dirs: DEFAULT_UNIT_DIRS, homes: ['/home/alice', '/home/bob'], systemStates })];
}
const services = (found: Finding[]) =>
  found.flatMap((f) =>
    f.kind === 'observation' && f.observation.document === 'ServiceItem'
      ? [{ ...f, observation: f.observation as ServiceObservation }]
      : [],
  );

describe('systemd services as ServiceItem observations, read from the unit files', () => {
  const notRunning = { unknown: 'systemd is not running here (no /run/systemd/system)' };

  it('reports name, description, ExecStart program and line, and the mode the files give', () => {
    const byName = new Map(services(collect(notRunning)).map((s) => [s.observation.name, s]));
    expect(byName.get('evil')).toMatchObject({
      area: 'service',
      path: '/etc/systemd/system/evil.service',
      origin: 'systemd unit evil.service (enabled, active state unknown)',
      observation: {
        document: 'ServiceItem',
        name: 'evil',
        descriptiveName: 'Update helper',
        path: '/opt/evil/run',
        arguments: '/opt/evil/run --daemon    --quiet',
        mode: 'enabled',
      },
    });
    expect(byName.get('evil')!.observation).not.toHaveProperty('status');
    expect(byName.get('real')?.observation).toMatchObject({
      path: '/opt/evil/run',
      arguments: '/opt/evil/run',
      mode: 'static',
      descriptiveName: 'Real daemon',
    });
    expect(byName.get('idle')?.observation).toMatchObject({ path: '/usr/sbin/sshd', arguments: 'sshd -D', mode: 'disabled' });
    expect(byName.get('blocked')?.observation).toEqual({ document: 'ServiceItem', name: 'blocked', mode: 'masked' });
    expect(byName.get('getty@tty1')?.observation).toMatchObject({
      descriptiveName: 'Getty on tty1',
      path: '/sbin/agetty',
      mode: 'enabled',
    });
    // An alias is the unit it names; a template is no service until an instance of it is named.
    expect([...byName.keys()].filter((n) => n.startsWith('dbus-org') || n === 'getty@')).toEqual([]);
  });

  it("reads every user's units once, and each home's own units with the home for %h", () => {
    const user = services(collect(notRunning)).filter((s) => s.origin.includes('user unit'));
    expect(user.map((s) => `${s.observation.name}: ${s.origin}`)).toEqual([
      'pipewire: systemd user unit (every user) pipewire.service (disabled, active state unknown)',
      'agent: systemd user unit of /home/alice agent.service (enabled, active state unknown)',
    ]);
    expect(user[1]!.observation.path).toBe('/home/alice/.local/bin/agent');
  });

  it('without a running systemd, says the active state is unknown instead of calling services stopped', () => {
    const found = collect(notRunning);
    expect(found).toContainEqual({
      kind: 'unavailable',
      area: 'service',
      what: 'the active state of 5 system unit(s)',
      reason: 'systemd is not running here (no /run/systemd/system): ServiceItem/status is absent for them',
    });
    expect(found).toContainEqual(expect.objectContaining({ kind: 'unavailable', what: 'the active state of 2 user unit(s)' }));
    expect(systemActiveStates(new RootFs(root))).toEqual(notRunning);
  });

  it("takes the active state from systemd where it runs (systemctl's list of units)", () => {
    const listed = parseListUnits(
      [
        'evil.service                 loaded    active   running Update helper',
        'getty@tty1.service           loaded    failed   failed  Getty on tty1',
        'not a unit line',
        'ssh.socket                   loaded    active   listening OpenSSH socket',
      ].join('\n'),
    );
    expect([...listed]).toEqual([
      ['evil.service', 'active'],
      ['getty@tty1.service', 'failed'],
    ]);
    const byName = new Map(services(collect({ states: listed })).map((s) => [s.observation.name, s]));
    expect(byName.get('evil')).toMatchObject({ observation: { status: 'active' }, origin: 'systemd unit evil.service (enabled, active)' });
    expect(byName.get('getty@tty1')?.observation.status).toBe('failed');
    // A unit systemd has not loaded is not running.
    expect(byName.get('idle')?.observation.status).toBe('inactive');
  });
});
