import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { sandgatePaths } from '../config/paths.ts';
import { ensurePrivateDir } from './private-dir.ts';

/**
 * Item ids are random (never derived from a file name or hash), so a name in the store says nothing about the object
 * and cannot be predicted or steered by whoever supplied the download.
 */
const ID_PATTERN = /^[0-9a-f]{32}$/;

export function newItemId(): string {
  return randomBytes(16).toString('hex');
}

/** Refuses anything that is not an id we could have made: ids come from the command line and must not carry paths. */
export function assertItemId(id: string): void {
  if (!ID_PATTERN.test(id))
    throw new SandgateError('QUARANTINE_ITEM_NOT_FOUND', `no quarantine item ${JSON.stringify(id.slice(0, 80))}`, {
      params: { id: id.slice(0, 80) },
    });
}

export function isItemId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export interface ItemFiles {
  blob: string;
  meta: string;
  lock: string;
}

export function storeDir(home: string): string {
  return sandgatePaths(home).quarantine;
}

export function itemFiles(home: string, id: string): ItemFiles {
  const dir = storeDir(home);
  return { blob: join(dir, `${id}.blob`), meta: join(dir, `${id}.json`), lock: join(dir, `${id}.lock`) };
}

/** The store folder: 0700, a real folder of ours, never a link. */
export function openStore(home: string): string {
  const dir = storeDir(home);
  try {
    ensurePrivateDir(dir);
  } catch (err) {
    throw new SandgateError('QUARANTINE_FAILED', `the quarantine store ${dir} is not usable: ${(err as Error).message}`, { cause: err });
  }
  return dir;
}
