import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DoctorCheck } from '@sandgate/shared';
import { installPlatform } from './browsers.ts';

/** Where the service definitions from manifests/ are installed, per OS: user first, then system-wide. */
export function serviceUnitLocations(platform: NodeJS.Platform, homeDir: string): string[] {
  switch (installPlatform(platform)) {
    case 'darwin':
      return [join(homeDir, 'Library/LaunchAgents/org.sandgate.agent.plist'), '/Library/LaunchAgents/org.sandgate.agent.plist'];
    case 'win32':
      return [];
    default:
      return [
        join(homeDir, '.config/systemd/user/sandgate.service'),
        '/etc/systemd/user/sandgate.service',
        '/etc/systemd/system/sandgate@.service',
        '/usr/lib/systemd/system/sandgate@.service',
      ];
  }
}

const FIX: Record<'linux' | 'darwin' | 'win32', string> = {
  linux: 'optional: cp manifests/systemd/sandgate.service ~/.config/systemd/user/ && systemctl --user enable --now sandgate',
  darwin:
    'optional: cp manifests/launchd/org.sandgate.agent.plist ~/Library/LaunchAgents/ && launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/org.sandgate.agent.plist',
  win32: 'optional: create the service as manifests/windows/sandgate-service.json describes (sc.exe create Sandgate ...)',
};

/**
 * Whether a service definition is installed. Its absence is a warning only: the native host starts the agent on
 * demand; the service matters for finishing queued work after a reboot before a browser opens.
 */
export async function checkService(platform: NodeJS.Platform, homeDir: string): Promise<DoctorCheck> {
  const os = installPlatform(platform);
  if (os === 'win32') {
    try {
      await promisify(execFile)('sc', ['query', 'Sandgate'], { windowsHide: true });
      return { check: 'service', status: 'ok', detail: 'Windows service "Sandgate" exists' };
    } catch {
      return { check: 'service', status: 'warn', code: 'AGENT_UNAVAILABLE', detail: 'no Windows service "Sandgate"', fix: FIX.win32 };
    }
  }
  const found = serviceUnitLocations(platform, homeDir).find((p) => existsSync(p));
  if (found) return { check: 'service', status: 'ok', detail: found };
  return {
    check: 'service',
    status: 'warn',
    code: 'AGENT_UNAVAILABLE',
    detail: `no service definition (looked at ${serviceUnitLocations(platform, homeDir).join(', ')}); the agent is started on demand by the native host`,
    fix: FIX[os],
  };
}
