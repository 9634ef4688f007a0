import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, normalize, relative, sep } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { isWithin } from './download-dirs.ts';

/**
 * Refuses a path the browser side names unless it lies in one of its download folders (subfolders included, none of
 * them hidden), reached without a symbolic link. Checked on the folder's real path, so `~/Downloads/../.ssh/id_rsa`
 * and a link planted in the download folder pointing elsewhere are both refused. The file itself (regular, owned by
 * this user, not a link) is checked by whoever opens it, on the descriptor it opened.
 */
export async function confineToDownloads(path: string, dirs: readonly string[]): Promise<void> {
  if (!isAbsolute(path) || normalize(path) !== path || path.includes('\0') || path.endsWith(sep)) {
    throw new SandgateError('PATH_INVALID', `Not an absolute, normalised path: ${JSON.stringify(path)}`, { params: { path } });
  }
  const folder = dirname(path);
  let real: string;
  try {
    real = await realpath(folder);
  } catch {
    throw outside(path, dirs);
  }
  if (real !== folder) {
    throw new SandgateError('PATH_IS_LINK', `A folder in the path is a symbolic link (it resolves to ${real}): ${path}`, {
      params: { path },
    });
  }
  const home = dirs.find((d) => isWithin(real, d));
  if (!home) throw outside(path, dirs);
  // A hidden folder below a download folder is no place a browser saves to by itself (`.config`, `.ssh`…).
  if (
    relative(home, real)
      .split(sep)
      .some((part) => part.startsWith('.'))
  )
    throw outside(path, dirs);
}

function outside(path: string, dirs: readonly string[]): SandgateError {
  const where = dirs.length ? dirs.join(', ') : 'none is configured or found (policy capture.downloadDirs)';
  return new SandgateError('PATH_OUTSIDE_DOWNLOADS', `${path} is not in a download folder the browser may name (${where})`, {
    params: { path },
  });
}
