import { constants, promises as fsp } from 'node:fs';

/**
 * Removes the name `path` (a missing one is fine) and returns at once; the disk blocks of a large file are released
 * afterwards, in the background. A POSIX file system frees an unlinked file's blocks when its last descriptor closes,
 * which for a 1 GiB file here costs about 0.4 s inside unlink() or close(): holding a descriptor across the unlink moves
 * that cost out of the caller's answer. The name is gone when this resolves; only the freeing of space happens later.
 * On Windows a name held open may linger until it closes, so there the removal is waited for as before.
 */
export async function unlinkFreeingLater(path: string): Promise<void> {
  if (process.platform === 'win32') return fsp.rm(path, { force: true });
  const held = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
  try {
    await fsp.rm(path, { force: true });
  } finally {
    closeLater(held);
  }
}

/** Closes a descriptor without waiting for it (e.g. the last one of an unlinked file, whose blocks are freed then). */
export function closeLater(fh: { close(): Promise<void> } | undefined): void {
  fh?.close().catch(() => {});
}
