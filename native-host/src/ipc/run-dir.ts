import { lstat, mkdir, chmod } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { agentSocketPath } from './socket-path.ts';

/**
 * Makes sure the folder holding the agent socket is a real folder (not a link), owned by us, and private (0700).
 * The socket's own mode is not enough on every platform; the folder is what keeps other users out.
 * Returns the socket path. On Windows the named pipe has no folder and this only returns its name.
 */
export async function ensureRunDir(home: string): Promise<string> {
  const socketPath = agentSocketPath(home);
  if (process.platform === 'win32') return socketPath;
  const dir = dirname(socketPath);
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
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw unsafe('belongs to another user');
  if ((st.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
  return socketPath;
}
