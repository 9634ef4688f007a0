import { closeSync, existsSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseMountInfo } from '../mount-table.ts';
import type { Finding } from './collector.ts';
import type { RootFs } from './root-fs.ts';

const AREA = 'boot-sector';
export const BOOT_SECTOR_BYTES = 512;

/**
 * The disk holding /boot (or / when /boot is not a mount of its own): mountinfo gives the device number, sysfs
 * (/sys/dev/block/MAJ:MIN, a partition's parent folder is its disk) gives the disk's name.
 */
export function bootDisk(fs: RootFs): { device: string; disk: string } | { reason: string } {
  const mounts = parseMountInfo(fs.readText('/proc/self/mountinfo') ?? '');
  const m = [...mounts].reverse().find((x) => x.mountPoint === '/boot') ?? [...mounts].reverse().find((x) => x.mountPoint === '/');
  if (!m) return { reason: 'no mount table' };
  let sys: string;
  try {
    sys = realpathSync(fs.at(`/sys/dev/block/${m.device}`));
  } catch {
    return { reason: `no block device for ${m.mountPoint} (${m.source}, ${m.fsType})` };
  }
  // `sys` is already a real path below the root: read it as it is.
  const diskDir = existsSync(join(sys, 'partition')) ? dirname(sys) : sys;
  let uevent = '';
  try {
    uevent = readFileSync(join(diskDir, 'uevent'), 'utf8');
  } catch {
    // the folder's name is the disk's name
  }
  const name = /^DEVNAME=(.+)$/m.exec(uevent)?.[1] ?? basename(diskDir);
  return { device: m.device, disk: `/dev/${name}` };
}

/** The first sector of the boot disk as an object; "not readable" (not a failure) when this user may not read it. */
export function* linuxBootSector(fs: RootFs): Generator<Finding> {
  const d = bootDisk(fs);
  if ('reason' in d) {
    yield { kind: 'unavailable', area: AREA, what: 'boot disk', reason: d.reason };
    return;
  }
  const st = fs.lstat(d.disk);
  if (!st) {
    yield { kind: 'unavailable', area: AREA, what: d.disk, reason: 'not readable (no such device node)' };
    return;
  }
  try {
    closeSync(openSync(fs.at(d.disk), 'r'));
  } catch (err) {
    yield { kind: 'unavailable', area: AREA, what: d.disk, reason: `not readable as this user (${(err as NodeJS.ErrnoException).code})` };
    return;
  }
  yield {
    kind: 'file',
    area: AREA,
    path: d.disk,
    ...(fs.root === '/' ? {} : { readPath: fs.at(d.disk) }),
    stat: { dev: st.dev, ino: st.ino, size: BOOT_SECTOR_BYTES, mtime: st.mtime, mtimeMs: st.mtimeMs },
    hashOptions: { limit: BOOT_SECTOR_BYTES, allowDevice: true },
    origin: `first ${BOOT_SECTOR_BYTES} bytes of the boot disk (device ${d.device})`,
  };
}
