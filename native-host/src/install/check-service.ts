import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DoctorCheck } from '@sandgate/shared';
import { installPlatform } from './browsers.ts';
import { checkLogonStart } from './logon-start.ts';

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

const FIX: Record<'linux' | 'darwin', string> = {
  linux: 'optional: cp manifests/systemd/sandgate.service ~/.config/systemd/user/ && systemctl --user enable --now sandgate',
  darwin:
    'optional: cp manifests/launchd/org.sandgate.agent.plist ~/Library/LaunchAgents/ && launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/org.sandgate.agent.plist',
};

/**
 * Whether a service definition is installed. Its absence is a warning only: the native host starts the agent on
 * demand; the service matters for finishing queued work after a reboot before a browser opens.
 */
export async function checkService(platform: NodeJS.Platform, homeDir: string, home: string): Promise<DoctorCheck> {
  const os = installPlatform(platform);
  // Windows: the agent starts at logon from the per-user Run key (logon-start.ts), not as a service.
  if (os === 'win32') return checkLogonStart(home);
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
