import { resolve } from 'node:path';
import { BROWSERS, isBrowser, type Browser, type InstallScope } from '../install/browsers.ts';
import { installNativeHost, uninstallNativeHost } from '../install/install.ts';
import { parseCommand } from './cli-context.ts';
import { EXIT, printJson, usage, type CliIo } from './cli-io.ts';
import { SandgateError } from '@sandgate/shared';

export const INSTALL_HELP = `usage: sandgate install [--browser chrome|chromium|edge|brave|firefox|all] [--scope user|system] [--profile-dir DIR]
       sandgate uninstall [same options]

Registers (or removes) the native messaging host org.sandgate.agent for the chosen browsers. --profile-dir DIR writes
into DIR/NativeMessagingHosts (a browser started with --user-data-dir=DIR). Default: every browser, user scope.
`;

const OPTIONS = { browser: { type: 'string' }, scope: { type: 'string' }, 'profile-dir': { type: 'string' } } as const;

interface Target {
  browser: Browser | 'all';
  scope: InstallScope;
  profileDir?: string;
}

function target(io: CliIo, values: Record<string, string | boolean | undefined>): Target {
  const b = typeof values.browser === 'string' ? values.browser : 'all';
  if (b !== 'all' && !isBrowser(b)) throw new SandgateError('BROWSER_UNKNOWN', `unknown browser "${b}" (${BROWSERS.join(', ')} or all)`, { params: { browser: b } });
  const s = typeof values.scope === 'string' ? values.scope : 'user';
  if (s !== 'user' && s !== 'system') throw usage(`--scope must be user or system, not "${s}"`);
  const profileDir = typeof values['profile-dir'] === 'string' ? resolve(io.cwd, values['profile-dir']) : undefined;
  return { browser: b, scope: s, ...(profileDir ? { profileDir } : {}) };
}

export async function installCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, values, positionals, help } = parseCommand(io, args, OPTIONS);
  if (help) {
    io.out(INSTALL_HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw usage(`unexpected arguments: ${positionals.join(' ')}`);
  const result = await installNativeHost({ ...target(io, values), home: ctx.home });
  if (ctx.json) printJson(io, result);
  else io.out(`launcher ${result.launcher}\n` + result.manifests.map((p) => `registered ${p}\n`).join('') + (result.registryKeys ?? []).map((k) => `registry key to set: ${k}\n`).join(''));
  return EXIT.ok;
}

export async function uninstallCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, values, positionals, help } = parseCommand(io, args, OPTIONS);
  if (help) {
    io.out(INSTALL_HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw usage(`unexpected arguments: ${positionals.join(' ')}`);
  const result = await uninstallNativeHost({ ...target(io, values), home: ctx.home });
  if (ctx.json) printJson(io, result);
  else io.out(result.manifests.map((p) => `removed ${p}\n`).join('') || 'nothing was registered\n');
  return EXIT.ok;
}
