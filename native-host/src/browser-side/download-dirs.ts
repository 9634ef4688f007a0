import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { z } from 'zod';

/**
 * The folders the browser side may name files in (policy `capture.downloadDirs`, or these defaults): the user's
 * download folder and the download folder each installed browser is set to, read by the agent from the browser's own
 * settings files. The extension could report its folder, but a compromised extension would then pick any folder it
 * likes; what the browser wrote in its settings is something the agent can check for itself.
 *
 * No folder that holds the user's home (the home itself, `/`) is ever a download folder, from policy or defaults: a
 * browser set to save into the home folder would otherwise open every file of the user to the browser side.
 */
export interface DownloadDirSources {
  /** `capture.downloadDirs` from the policy; replaces the defaults when set. */
  policyDirs?: readonly string[] | undefined;
  /** The user's home folder (default `os.homedir()`). */
  userHome?: string;
  env?: NodeJS.ProcessEnv;
}

/** Chromium-family settings folders on Linux (each holds profile folders with a `Preferences` JSON file). */
const CHROMIUM_CONFIG_DIRS = [
  'chromium',
  'google-chrome',
  'google-chrome-beta',
  'google-chrome-unstable',
  'microsoft-edge',
  'microsoft-edge-beta',
  'BraveSoftware/Brave-Browser',
];
/** A settings file larger than this is not a browser's settings: it is skipped rather than read. */
const MAX_SETTINGS_BYTES = 16 * 1024 * 1024;

export function downloadDirs(src: DownloadDirSources = {}): string[] {
  const env = src.env ?? process.env;
  const userHome = src.userHome ?? homedir();
  const candidates = src.policyDirs?.length ? [...src.policyDirs] : defaultCandidates(userHome, env);
  const out = new Set<string>();
  for (const c of candidates) {
    const dir = usableDir(c, userHome);
    if (dir) out.add(dir);
  }
  return [...out];
}

function defaultCandidates(userHome: string, env: NodeJS.ProcessEnv): string[] {
  const dirs = [xdgDownloadDir(userHome, env) ?? join(userHome, 'Downloads')];
  if (process.platform === 'linux') {
    const config = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(userHome, '.config');
    for (const browser of CHROMIUM_CONFIG_DIRS) dirs.push(...chromiumDownloadDirs(join(config, browser)));
    dirs.push(...firefoxDownloadDirs(join(userHome, '.mozilla', 'firefox'), userHome, env));
  }
  return dirs;
}

/** `XDG_DOWNLOAD_DIR` from `user-dirs.dirs` (xdg-user-dirs), with `$HOME` expanded. */
export function xdgDownloadDir(userHome: string, env: NodeJS.ProcessEnv): string | undefined {
  return xdgUserDir('DOWNLOAD', userHome, env);
}

function xdgUserDir(name: string, userHome: string, env: NodeJS.ProcessEnv): string | undefined {
  const config = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(userHome, '.config');
  const text = readSmall(join(config, 'user-dirs.dirs'));
  const m = text && new RegExp(`^XDG_${name}_DIR="([^"]*)"`, 'm').exec(text);
  if (!m) return undefined;
  const value = m[1]!.replace(/^\$HOME(?=\/|$)/, userHome);
  return isAbsolute(value) ? value : undefined;
}

const folderSetting = z
  .object({ default_directory: z.string().optional().catch(undefined) })
  .optional()
  .catch(undefined);
const chromiumPrefsSchema = z.object({ download: folderSetting, savefile: folderSetting });

/** `download.default_directory` (and the Save As folder) of every profile in a Chromium-family settings folder. */
function chromiumDownloadDirs(configDir: string): string[] {
  const out: string[] = [];
  for (const profile of listDir(configDir)) {
    const text = readSmall(join(configDir, profile, 'Preferences'));
    if (!text) continue;
    let prefs: z.infer<typeof chromiumPrefsSchema>;
    try {
      prefs = chromiumPrefsSchema.parse(JSON.parse(text));
    } catch {
      continue;
    }
    for (const dir of [prefs.download?.default_directory, prefs.savefile?.default_directory]) if (dir) out.push(dir);
  }
  return out;
}

/** `browser.download.dir` of every Firefox profile (and the desktop when a profile saves there: folderList 0). */
function firefoxDownloadDirs(profilesDir: string, userHome: string, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const profile of listDir(profilesDir)) {
    const text = readSmall(join(profilesDir, profile, 'prefs.js'));
    if (!text) continue;
    const dir = /^user_pref\("browser\.download\.dir",\s*"((?:[^"\\]|\\.)*)"\);/m.exec(text);
    if (dir) out.push(dir[1]!.replace(/\\(.)/g, '$1'));
    if (/^user_pref\("browser\.download\.folderList",\s*0\);/m.test(text))
      out.push(xdgUserDir('DESKTOP', userHome, env) ?? join(userHome, 'Desktop'));
  }
  return out;
}

/** The folder's real path when it exists, is a folder of this user, and does not hold the user's home. */
function usableDir(candidate: string, userHome: string): string | undefined {
  if (!isAbsolute(candidate) || candidate.includes('\0')) return undefined;
  let real: string;
  try {
    real = realpathSync(normalize(candidate));
    const st = statSync(real);
    const uid = process.getuid?.();
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) return undefined;
  } catch {
    return undefined;
  }
  let home: string;
  try {
    home = realpathSync(userHome);
  } catch {
    home = userHome;
  }
  if (isWithin(home, real)) return undefined;
  return real;
}

/** Whether `inner` is `outer` or below it. */
export function isWithin(inner: string, outer: string): boolean {
  if (inner === outer) return true;
  const prefix = outer.endsWith(sep) ? outer : outer + sep;
  return inner.startsWith(prefix);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readSmall(file: string): string | undefined {
  try {
    if (statSync(file).size > MAX_SETTINGS_BYTES) return undefined;
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
