import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import { CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID, NATIVE_HOST_NAME, type DoctorCheck } from '@sandgate/shared';
import { singleTextValue } from '@sandgate/shared/reg-query';
import {
  BROWSERS,
  SYSTEM_INSTALL_DIR,
  browserFamily,
  installPlatform,
  manifestLocations,
  registryLocation,
  type Browser,
  type InstallScope,
} from './browsers.ts';
import { partitionExtensionIds } from './host-manifest.ts';
import { MANIFEST_FILE, RECEIPT_FILE } from './install-plan.ts';
import { readReceipt } from './install-receipt.ts';
import { launcherPath, parseLauncher } from './launcher.ts';

export interface RegistrationCheckOptions {
  /** SANDGATE_HOME (per-user launcher and receipt). */
  home: string;
  /** The user's home folder. */
  homeDir: string;
  scopes: InstallScope[];
  profileDir?: string;
  /** Policy extension.additionalIds: a manifest without them works for Sandgate but not for those extensions. */
  extraIds?: readonly string[];
  platform?: NodeJS.Platform;
}

interface Candidate {
  browser: Browser;
  scope: InstallScope | 'profile';
  file: string;
  /** Recorded by install: its absence is a failure, not just "not installed for this browser". */
  expected: boolean;
}

const execFileP = promisify(execFile);

const isExecutable = (p: string) => {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

function installHint(c: Pick<Candidate, 'browser' | 'scope'>, profileDir?: string): string {
  if (c.scope === 'profile') return `sandgate install --browser ${c.browser} --profile-dir ${profileDir ?? 'DIR'}`;
  return `sandgate install --browser ${c.browser}${c.scope === 'system' ? ' --scope system (as root)' : ''}`;
}

/**
 * Every host manifest doctor should look at: the ones install recorded (expected), and any other at a table location
 * (found), for the scopes asked. On Windows the locations are the registry keys' values.
 */
async function candidates(o: RegistrationCheckOptions): Promise<Candidate[]> {
  const platform = installPlatform(o.platform ?? process.platform);
  const out = new Map<string, Candidate>();
  const add = (c: Candidate) => {
    const prev = out.get(c.file);
    out.set(c.file, prev ? { ...prev, expected: prev.expected || c.expected } : c);
  };
  if (o.profileDir !== undefined)
    add({ browser: 'chromium', scope: 'profile', file: join(o.profileDir, 'NativeMessagingHosts', MANIFEST_FILE), expected: true });
  for (const scope of o.scopes) {
    const receipt = await readReceipt(scope === 'user' ? join(o.home, RECEIPT_FILE) : join(SYSTEM_INSTALL_DIR[platform], RECEIPT_FILE));
    for (const e of receipt) {
      if (e.kind === 'file' && e.role === 'manifest' && e.profileDir === undefined && e.browser) {
        add({ browser: e.browser as Browser, scope, file: e.path, expected: true });
      }
    }
    for (const browser of BROWSERS) {
      for (const loc of manifestLocations(browser, platform, scope, o.homeDir)) {
        if (platform !== 'win32') {
          const file = join(loc, MANIFEST_FILE);
          if (existsSync(file)) add({ browser, scope, file, expected: false });
          continue;
        }
        const { hive, key } = registryLocation(loc);
        const value = await readRegistryDefault(`${hive}\\${key}\\${NATIVE_HOST_NAME}`);
        if (value) add({ browser, scope, file: value, expected: true });
      }
    }
  }
  return [...out.values()];
}

/** `reg query KEY /ve`: the default value, or undefined when the key is absent (or this is not Windows). */
async function readRegistryDefault(key: string): Promise<string | undefined> {
  if (process.platform !== 'win32') return undefined;
  try {
    const { stdout } = await execFileP('reg', ['query', key, '/ve'], { windowsHide: true });
    // `/ve` prints the default value only (its name is localised); an unset one is no manifest path.
    return singleTextValue(stdout);
  } catch {
    return undefined;
  }
}

/** The manifests and the launchers they name: exists, parses, names our host, allows our IDs, runs the pinned Node. */
export async function checkRegistration(o: RegistrationCheckOptions): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const launchers = new Map<string, Candidate>();
  const list = await candidates(o);
  const ids = partitionExtensionIds(o.extraIds ?? []);
  for (const c of list) {
    const check = `manifest ${c.browser} ${c.scope}`;
    const fix = `run ${installHint(c, o.profileDir)}`;
    if (!existsSync(c.file)) {
      checks.push({ check, status: 'fail', code: 'HOST_NOT_INSTALLED', detail: `${c.file} is missing (sandgate install wrote it)`, fix });
      continue;
    }
    let m: Record<string, unknown>;
    try {
      const raw: unknown = JSON.parse(readFileSync(c.file, 'utf8'));
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not an object');
      m = raw as Record<string, unknown>;
    } catch {
      checks.push({ check, status: 'fail', code: 'HOST_NOT_INSTALLED', detail: `${c.file} is not a JSON object`, fix });
      continue;
    }
    if (m.name !== NATIVE_HOST_NAME || m.type !== 'stdio') {
      checks.push({
        check,
        status: 'fail',
        code: 'HOST_NOT_INSTALLED',
        detail: `${c.file} must have name "${NATIVE_HOST_NAME}" and type "stdio"`,
        fix,
      });
      continue;
    }
    const path = typeof m.path === 'string' ? m.path : '';
    if (!isAbsolute(path) || !isExecutable(path)) {
      checks.push({
        check,
        status: 'fail',
        code: 'HOST_NOT_INSTALLED',
        detail: `${c.file} names a launcher that is missing or not executable: ${path || '(none)'}`,
        fix,
      });
      continue;
    }
    const firefox = browserFamily(c.browser) === 'firefox';
    const listed = (firefox ? m.allowed_extensions : m.allowed_origins) as unknown;
    const allowed = Array.isArray(listed) ? listed.filter((x): x is string => typeof x === 'string') : [];
    const ours = firefox ? FIREFOX_EXTENSION_ID : `chrome-extension://${CHROMIUM_EXTENSION_ID}/`;
    if (!allowed.includes(ours)) {
      const field = firefox ? 'allowed_extensions' : 'allowed_origins';
      checks.push({
        check,
        status: 'fail',
        code: 'ORIGIN_FORBIDDEN',
        detail: `${c.file}: ${field} does not include ${ours}, so the browser refuses Sandgate's extension`,
        fix,
      });
      continue;
    }
    const wanted = firefox ? ids.firefox : ids.chromium.map((id) => `chrome-extension://${id}/`);
    const absent = wanted.filter((w) => !allowed.includes(w));
    if (absent.length) {
      checks.push({
        check,
        status: 'warn',
        code: 'ORIGIN_FORBIDDEN',
        detail: `${c.file} does not allow ${absent.join(', ')} from the policy's extension.additionalIds`,
        fix,
      });
    } else {
      checks.push({ check, status: 'ok', detail: `${c.file} → ${path}` });
    }
    if (!launchers.has(path)) launchers.set(path, c);
  }

  if (list.length === 0) {
    checks.push({
      check: 'manifest',
      status: 'fail',
      code: 'HOST_NOT_INSTALLED',
      detail: `no host manifest for any browser (${o.scopes.join(' and ')} scope${o.profileDir ? `, profile ${o.profileDir}` : ''})`,
      fix: 'run sandgate install --browser all (or --profile-dir DIR for a browser started with --user-data-dir)',
    });
    const expected = launcherPath(o.home, o.platform ?? process.platform);
    if (!isExecutable(expected)) {
      checks.push({
        check: 'launcher',
        status: 'fail',
        code: 'HOST_NOT_INSTALLED',
        detail: `${expected} is missing or not executable`,
        fix: 'run sandgate install',
      });
    }
  }
  for (const [path, c] of launchers) checks.push(checkLauncher(path, `run ${installHint(c, o.profileDir)}`));
  return checks;
}

/** A launcher must run a Node binary by absolute path (never `node` from PATH) on an entry that exists. */
export function checkLauncher(path: string, fix: string): DoctorCheck {
  const check = 'launcher';
  if (!isExecutable(path))
    return { check, status: 'fail', code: 'HOST_NOT_INSTALLED', detail: `${path} is missing or not executable`, fix };
  const parsed = parseLauncher(readFileSync(path, 'utf8'));
  if (!parsed || !isAbsolute(parsed.nodePath)) {
    return {
      check,
      status: 'fail',
      code: 'HOST_NOT_INSTALLED',
      detail: `${path} does not run Node by absolute path (a browser's PATH may hold no node, or node 20)`,
      fix,
    };
  }
  if (!isExecutable(parsed.nodePath))
    return {
      check,
      status: 'fail',
      code: 'HOST_NOT_INSTALLED',
      detail: `${path} runs ${parsed.nodePath}, which is missing (npm ci removed or moved it?)`,
      fix: `run npm ci, then ${fix.replace(/^run /, '')}`,
    };
  if (!existsSync(parsed.entry))
    return {
      check,
      status: 'fail',
      code: 'HOST_NOT_INSTALLED',
      detail: `${path} runs ${parsed.entry}, which is missing (the repository moved?)`,
      fix,
    };
  return { check, status: 'ok', detail: `${path} runs ${parsed.nodePath}` };
}
