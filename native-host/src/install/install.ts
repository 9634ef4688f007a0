import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, rmdir, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { NATIVE_HOST_NAME, SandgateError, type InstallPlan } from '@sandgate/shared';
import { installPlatform, type Browser, type InstallPlatform } from './browsers.ts';
import { planInstall, selectedBrowsers, type BuiltPlan } from './install-plan.ts';
import { mergeEntries, readReceipt, sha256Of, writeReceipt, type ReceiptEntry } from './install-receipt.ts';
import { LAUNCHER_MARK, NATIVE_HOST_ENTRY } from './launcher.ts';
import { resolvePinnedNode } from './pinned-node.ts';
import { writeFileAtomic } from '@sandgate/shared/durable-write';

export interface InstallOptions {
  browser: Browser | 'all';
  scope: 'user' | 'system';
  /** A Chromium --user-data-dir: the manifest goes to DIR/NativeMessagingHosts (what tests and kiosk setups use). */
  profileDir?: string;
  /** SANDGATE_HOME: a per-user launcher goes to its bin/ folder. */
  home: string;
  /** Further Chromium extension IDs / Firefox add-on IDs to allow besides Sandgate's own (policy `extension.additionalIds`). */
  extraIds?: string[];
  platform?: NodeJS.Platform;
  /** The user's home folder (default os.homedir()). */
  homeDir?: string;
  /** Prefix for system-wide folders (packaging DESTDIR, tests). Default: none. */
  rootDir?: string;
  /** The Node binary the launcher runs (default: the repository's pinned Node 22). */
  nodePath?: string;
  /** Only compute what would be done. */
  dryRun?: boolean;
}

export interface InstallResult {
  manifests: string[];
  launcher: string;
  /** Windows: the registry keys (with the host name) whose default value is the manifest path. */
  registryKeys?: string[];
  plan: InstallPlan;
}

export interface UninstallResult {
  manifests: string[];
  launcher: string;
  registryKeys?: string[];
  /** What was removed besides manifests: the launcher, folders install created. */
  removed: string[];
  /** Files install wrote that were left because they changed since (someone else's now). */
  kept: Array<{ path: string; reason: string }>;
}

const execFileP = promisify(execFile);

export function buildPlan(opts: InstallOptions): BuiltPlan {
  const os = installPlatform(opts.platform ?? process.platform);
  return planInstall({
    browser: opts.browser,
    scope: opts.scope,
    ...(opts.profileDir !== undefined ? { profileDir: opts.profileDir } : {}),
    os,
    homeDir: opts.homeDir ?? homedir(),
    sandgateHome: opts.home,
    ...(opts.rootDir !== undefined ? { rootDir: opts.rootDir } : {}),
    nodePath: opts.nodePath ?? (os === installPlatform(process.platform) ? resolvePinnedNode() : crossOs(os).node),
    entry: os === installPlatform(process.platform) || os !== 'win32' ? NATIVE_HOST_ENTRY : crossOs(os).entry,
    extraIds: opts.extraIds ?? [],
    exists: existsSync,
  });
}

/**
 * A plan for another OS cannot name this machine's Node; it names what a packaged install would carry. (macOS and
 * Linux plans executed here, into a test home, keep this machine's paths so the launcher really runs.)
 */
function crossOs(os: InstallPlatform): { node: string; entry: string } {
  if (os === 'win32')
    return {
      node: 'C:\\Program Files\\Sandgate\\node\\node.exe',
      entry: 'C:\\Program Files\\Sandgate\\native-host\\src\\bin\\native-host.ts',
    };
  return { node: resolvePinnedNode(), entry: NATIVE_HOST_ENTRY };
}

function refuseForeignRegistry(os: InstallPlatform, dryRun: boolean | undefined): void {
  if (os === 'win32' && process.platform !== 'win32' && !dryRun) {
    throw new SandgateError('USAGE', 'registry keys can only be set on Windows; add --dry-run to print the plan (files and keys) instead', {
      params: { os },
    });
  }
}

/**
 * Registers the native host: executes the plan (folders, launcher, manifests, and on Windows the registry keys), then
 * records what it wrote so that uninstall can remove exactly that.
 */
export async function installNativeHost(opts: InstallOptions): Promise<InstallResult> {
  const os = installPlatform(opts.platform ?? process.platform);
  refuseForeignRegistry(os, opts.dryRun);
  const built = buildPlan(opts);
  const { plan } = built;
  const result: InstallResult = {
    manifests: plan.steps.flatMap((s) => (s.kind === 'file' && s.role === 'manifest' ? [s.path] : [])),
    launcher: built.stage(plan.launcher),
    ...(os === 'win32' ? { registryKeys: plan.steps.flatMap((s) => (s.kind === 'registry' ? [`${s.hive}\\${s.key}`] : [])) } : {}),
    plan,
  };
  if (opts.dryRun) return result;

  const done: ReceiptEntry[] = [];
  try {
    for (const step of plan.steps) {
      switch (step.kind) {
        case 'dir':
          // Created one level at a time (the plan lists them top-down) and recorded only when we made it.
          if (existsSync(step.path)) break;
          await mkdir(step.path, { mode: step.mode });
          done.push({ kind: 'dir', path: step.path });
          break;
        case 'file': {
          if (step.role === 'launcher') await assertRealFolder(dirname(step.path));
          await writeFileAtomic(step.path, step.content, step.mode);
          done.push({
            kind: 'file',
            path: step.path,
            role: step.role,
            sha256: sha256Of(step.content),
            ...(step.browser ? { browser: step.browser } : {}),
            ...(opts.profileDir !== undefined && step.role === 'manifest' ? { profileDir: opts.profileDir } : {}),
          });
          break;
        }
        case 'registry':
          await execFileP('reg', ['add', `${step.hive}\\${step.key}`, '/ve', '/t', 'REG_SZ', '/d', step.value, '/f'], {
            windowsHide: true,
          });
          done.push({ kind: 'registry', hive: step.hive, key: step.key, value: step.value, browser: step.browser });
          break;
      }
    }
  } catch (err) {
    // What was written before the failure is still recorded, so uninstall can take it away.
    await writeReceipt(built.receiptPath, mergeEntries(await readReceipt(built.receiptPath), done)).catch(() => {});
    if (err instanceof SandgateError) throw err;
    const path = (err as NodeJS.ErrnoException).path ?? '';
    throw new SandgateError('INSTALL_FAILED', `could not register the native host: ${(err as Error).message}`, {
      params: { path },
      cause: err,
    });
  }
  await writeReceipt(built.receiptPath, mergeEntries(await readReceipt(built.receiptPath), done));
  return result;
}

async function assertRealFolder(dir: string): Promise<void> {
  // The browser will execute whatever this folder holds: it must be a real folder, not a link someone planted.
  const st = await lstat(dir);
  if (!st.isDirectory()) throw new SandgateError('INSTALL_FAILED', `${dir} is not a folder`, { params: { path: dir } });
}

/**
 * Removes what install wrote for these options, and nothing else: files whose content is still what install wrote,
 * the registry keys it set, folders it created once they are empty, and the launcher when no manifest uses it any more.
 * Without a receipt (an install by an older version) it removes only manifests that name this install's launcher.
 */
export async function uninstallNativeHost(opts: InstallOptions): Promise<UninstallResult> {
  const os = installPlatform(opts.platform ?? process.platform);
  refuseForeignRegistry(os, opts.dryRun);
  const built = buildPlan(opts);
  const browsers = new Set<string>(selectedBrowsers(opts.browser));
  const receipt = await readReceipt(built.receiptPath);
  const result: UninstallResult = {
    manifests: [],
    launcher: built.stage(built.plan.launcher),
    removed: [],
    kept: [],
    ...(os === 'win32' ? { registryKeys: [] } : {}),
  };

  const planned = new Set(built.plan.steps.flatMap((s) => (s.kind === 'file' && s.role === 'manifest' ? [s.path] : [])));
  const selected = (e: ReceiptEntry): boolean => {
    if (e.kind === 'registry') return opts.profileDir === undefined && browsers.has(e.browser);
    if (e.kind !== 'file' || e.role !== 'manifest') return false;
    if (opts.profileDir !== undefined) return e.profileDir === opts.profileDir;
    return e.profileDir === undefined && browsers.has(e.browser ?? '');
  };
  let remaining = receipt.filter((e) => !selected(e));
  const chosen = receipt.filter(selected);

  if (receipt.length === 0) {
    // No record: only manifests that are recognisably ours (our host name, our launcher) are touched.
    for (const path of planned) {
      const m = await readJsonObject(path);
      if (m?.name === NATIVE_HOST_NAME && m.path === built.plan.launcher) {
        if (!opts.dryRun) await unlink(path);
        result.manifests.push(path);
      }
    }
  }
  for (const e of chosen) {
    if (e.kind === 'registry') {
      const key = `${e.hive}\\${e.key}`;
      const outcome = opts.dryRun ? 'removed' : await deleteRegistryKey(key);
      if (outcome === 'removed') result.registryKeys?.push(key);
      else if (outcome === 'failed') {
        // Still registered: said so, and still recorded, so a later uninstall tries again.
        result.kept.push({ path: key, reason: 'reg delete failed; the key is still there' });
        remaining.push(e);
      }
    } else if (e.kind === 'file') {
      const outcome = await removeIfUnchanged(e.path, e.sha256, opts.dryRun);
      if (outcome === 'removed') result.manifests.push(e.path);
      else if (outcome === 'changed') result.kept.push({ path: e.path, reason: 'changed since sandgate install wrote it; left in place' });
    }
  }

  // The launcher goes when nothing registered still names it.
  const stillUsed = remaining.some((e) => e.kind === 'registry' || (e.kind === 'file' && e.role === 'manifest'));
  if (!stillUsed) {
    const launcherEntry = remaining.find((e) => e.kind === 'file' && e.role === 'launcher');
    if (launcherEntry && launcherEntry.kind === 'file') {
      const outcome = await removeIfUnchanged(launcherEntry.path, launcherEntry.sha256, opts.dryRun);
      if (outcome === 'removed') result.removed.push(launcherEntry.path);
      if (outcome === 'changed')
        result.kept.push({ path: launcherEntry.path, reason: 'changed since sandgate install wrote it; left in place' });
      remaining = remaining.filter((e) => e !== launcherEntry);
    } else if (receipt.length === 0 && opts.browser === 'all' && opts.profileDir === undefined) {
      const text = await readFile(result.launcher, 'utf8').catch(() => '');
      if (text.includes(LAUNCHER_MARK)) {
        if (!opts.dryRun) await unlink(result.launcher);
        result.removed.push(result.launcher);
      }
    }
  }

  // Folders install created, deepest first, once empty; a folder that still holds something stays recorded.
  const dirs = remaining.filter((e) => e.kind === 'dir').sort((a, b) => b.path.length - a.path.length);
  const files = remaining.filter((e) => e.kind !== 'dir');
  if (opts.dryRun) return result;
  if (files.length === 0) await writeReceipt(built.receiptPath, []);
  const keptDirs: ReceiptEntry[] = [];
  for (const d of dirs) {
    if (await isEmptyDir(d.path)) {
      await rmdir(d.path).catch(() => keptDirs.push(d));
      if (!existsSync(d.path)) result.removed.push(d.path);
    } else if (existsSync(d.path)) keptDirs.push(d);
  }
  if (files.length) await writeReceipt(built.receiptPath, mergeEntries(keptDirs.reverse(), files));
  return result;
}

/** `reg delete KEY /f`; a key that is already gone was not removed by us and is not reported as removed. */
async function deleteRegistryKey(key: string): Promise<'removed' | 'absent' | 'failed'> {
  try {
    await execFileP('reg', ['delete', key, '/f'], { windowsHide: true });
    return 'removed';
  } catch {
    const present = await execFileP('reg', ['query', key], { windowsHide: true }).then(
      () => true,
      () => false,
    );
    return present ? 'failed' : 'absent';
  }
}

async function removeIfUnchanged(path: string, sha256: string, dryRun?: boolean): Promise<'removed' | 'changed' | 'absent'> {
  // lstat: a link or folder now at the path is not what install wrote.
  const st = await lstat(path).catch(() => null);
  if (!st) return 'absent';
  if (!st.isFile()) return 'changed';
  const now = sha256Of(await readFile(path));
  if (now !== sha256) return 'changed';
  if (!dryRun) await unlink(path);
  return 'removed';
}

async function readJsonObject(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    const v: unknown = JSON.parse(await readFile(path, 'utf8'));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function isEmptyDir(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => null);
  if (!st?.isDirectory()) return false;
  return (await readdir(path)).length === 0;
}
