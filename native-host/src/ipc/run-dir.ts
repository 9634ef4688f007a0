import { lstat, mkdir, chmod } from 'node:fs/promises';
import { SandgateError } from '@sandgate/shared';
import { sandgatePaths } from '../config/paths.ts';
import { agentSocketPath } from './socket-path.ts';

/** `$SANDGATE_HOME/run`: the agent socket on POSIX, and on every OS the locks that serialise starting the agent. */
export function runDir(home: string): string {
  return sandgatePaths(home).run;
}

/**
 * Makes sure `$SANDGATE_HOME/run` is a real folder (not a link) and returns the agent socket path. On POSIX the folder
 * holds the socket, so it must also be ours and private (0700): the socket's own mode is not enough on every platform,
 * the folder is what keeps other users out. On Windows the named pipe lives outside it (`\\.\pipe\…`); the folder
 * holds the start-up locks and the pipe key (pipe-key.ts), and its access is the one inherited from `%LOCALAPPDATA%`
 * (per user).
 */
export async function ensureRunDir(home: string): Promise<string> {
  const socketPath = agentSocketPath(home);
  const dir = runDir(home);
  await mkdir(home, { recursive: true, mode: 0o700 });
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // lstat, not stat: a planted symlink must be refused, never followed.
  const st = await lstat(dir);
  const unsafe = (reason: string) => new SandgateError('IPC_PATH_UNSAFE', `${dir}: ${reason}`, { params: { path: dir, reason } });
  if (st.isSymbolicLink()) throw unsafe('is a symbolic link');
  if (!st.isDirectory()) throw unsafe('is not a folder');
  if (process.platform === 'win32') return socketPath;
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw unsafe('belongs to another user');
  if ((st.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
  return socketPath;
}
