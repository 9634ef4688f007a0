import { constants } from 'node:fs';
import { lstat, open, realpath, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, normalize, sep } from 'node:path';
import { SandgateError } from '@sandgate/shared';

export interface OpenedFile {
  handle: FileHandle;
  size: number;
}

/**
 * Opens a file named by an untrusted caller (the browser, the CLI) for copying into the queue.
 *
 * The path must already be absolute and normalised, no folder on the way may be a symbolic link, and the last
 * component is opened with O_NOFOLLOW so a link planted there fails instead of being followed. O_NONBLOCK keeps a FIFO
 * from hanging us; fstat on the opened descriptor, not on the name, decides whether it is a regular file we own, so
 * a swap after the checks cannot change what we read.
 */
export async function openSubmittedFile(path: string): Promise<OpenedFile> {
  if (!isAbsolute(path) || normalize(path) !== path || path.includes('\0') || (path.endsWith(sep) && path !== sep)) {
    throw new SandgateError('PATH_INVALID', `Not an absolute, normalised path: ${JSON.stringify(path)}`, { params: { path } });
  }
  const dir = dirname(path);
  await assertLinkFreeFolder(dir, path);

  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw openError(err, path);
  }
  try {
    // Checked again after the open: a folder swapped for a link between the first check and the open is caught here.
    await assertLinkFreeFolder(dir, path);
    const st = await handle.stat();
    if (!st.isFile()) throw new SandgateError('FILE_NOT_REGULAR', `Not a regular file: ${path}`, { params: { path } });
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw new SandgateError('FILE_NOT_OWNED', `The file belongs to another user (uid ${st.uid}): ${path}`, { params: { path } });
    }
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function assertLinkFreeFolder(dir: string, path: string): Promise<void> {
  let real: string;
  try {
    real = await realpath(dir);
  } catch (err) {
    throw openError(err, path);
  }
  if (real !== dir) {
    throw new SandgateError('PATH_IS_LINK', `A folder in the path is a symbolic link (it resolves to ${real}): ${path}`, {
      params: { path },
    });
  }
  const st = await lstat(dir).catch((err: unknown) => {
    throw openError(err, path);
  });
  if (st.isSymbolicLink()) throw new SandgateError('PATH_IS_LINK', `The folder is a symbolic link: ${dir}`, { params: { path } });
  if (!st.isDirectory()) throw new SandgateError('FILE_NOT_FOUND', `Not a folder: ${dir}`, { params: { path } });
}

function openError(err: unknown, path: string): SandgateError {
  const code = (err as NodeJS.ErrnoException).code;
  const params = { path };
  switch (code) {
    case 'ELOOP':
      return new SandgateError('PATH_IS_LINK', `The file is a symbolic link: ${path}`, { params });
    case 'ENOENT':
    case 'ENOTDIR':
      return new SandgateError('FILE_NOT_FOUND', `No such file: ${path}`, { params });
    case 'EACCES':
    case 'EPERM':
      return new SandgateError('FILE_ACCESS_DENIED', `The agent may not read: ${path}`, { params });
    case 'ENXIO':
    case 'EISDIR':
    case 'ENODEV':
      return new SandgateError('FILE_NOT_REGULAR', `Not a regular file: ${path}`, { params });
    default:
      return new SandgateError('FILE_ACCESS_DENIED', `The file could not be opened (${code ?? 'error'}): ${path}`, { params, cause: err });
  }
}
