import { readFileSync } from 'node:fs';
import { byCodePoint } from '@sandgate/shared';

export interface Mount {
  /** Mount point, with mountinfo's octal escapes (`\040`) decoded. */
  mountPoint: string;
  fsType: string;
  source: string;
  /** `major:minor` of the device (st_dev). */
  device: string;
  /** The folder of the filesystem mounted here (`/` unless a bind mount of a sub-folder). */
  fsRoot: string;
}

/**
 * Filesystem types a disk scan enters: local, on-disk filesystems. Anything else (proc, sysfs, tmpfs, devtmpfs,
 * cgroup*, overlay, squashfs images, network filesystems such as nfs, cifs, smb3, 9p, fuse.sshfs, and every other
 * fuse.*) is skipped and reported, never entered. An allow-list rather than a deny-list because a type we do not know
 * (a new network or virtual filesystem) must not turn a "system drive" scan into a scan of a file server or of /proc.
 * overlay is skipped because its files live on a lower filesystem that is itself scanned; squashfs mounts are loop
 * images whose backing file is scanned as a file.
 */
export const LOCAL_DISK_FS_TYPES: ReadonlySet<string> = new Set([
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'zfs',
  'f2fs',
  'jfs',
  'reiserfs',
  'bcachefs',
  'nilfs2',
  'vfat',
  'msdos',
  'exfat',
  'ntfs',
  'ntfs3',
  'fuseblk',
  'hfsplus',
  'apfs',
  'ufs',
]);

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo (proc(5)): `id parent major:minor root mountpoint options [optional…] - type source super`. */
export function parseMountInfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 3) continue;
    mounts.push({
      device: fields[2]!,
      fsRoot: unescape(fields[3]!),
      mountPoint: unescape(fields[4]!),
      fsType: fields[dash + 1]!,
      source: unescape(fields[dash + 2]!),
    });
  }
  return mounts;
}

export class MountTable {
  readonly mounts: readonly Mount[];
  private readonly byPoint = new Map<string, Mount>();

  constructor(mounts: readonly Mount[]) {
    this.mounts = mounts;
    // A later mount on the same point hides the earlier one, as the kernel does.
    for (const m of mounts) this.byPoint.set(m.mountPoint, m);
  }

  /** The table of this process's mount namespace; empty where there is no /proc (macOS, Windows). */
  static read(file = '/proc/self/mountinfo'): MountTable {
    try {
      return new MountTable(parseMountInfo(readFileSync(file, 'utf8')));
    } catch {
      return new MountTable([]);
    }
  }

  at(mountPoint: string): Mount | undefined {
    return this.byPoint.get(mountPoint);
  }

  /** The mount a path lives on: the longest mount point that is a prefix of it. */
  containing(path: string): Mount | undefined {
    let best: Mount | undefined;
    for (const m of this.byPoint.values()) {
      const p = m.mountPoint;
      const inside = p === '/' || path === p || path.startsWith(p.endsWith('/') ? p : p + '/');
      if (inside && (!best || p.length > best.mountPoint.length)) best = m;
    }
    return best;
  }

  /**
   * One mount per local on-disk filesystem: the roots of a `system` scope. A filesystem mounted twice (bind mounts) is
   * walked once, from its whole-filesystem mount when there is one.
   */
  localDiskMounts(): Mount[] {
    const byDevice = new Map<string, Mount>();
    for (const m of this.byPoint.values()) {
      if (!LOCAL_DISK_FS_TYPES.has(m.fsType)) continue;
      const best = byDevice.get(m.device);
      const rank = (x: Mount) => [x.fsRoot === '/' ? 0 : 1, x.mountPoint.length] as const;
      if (!best || rank(m)[0] < rank(best)[0] || (rank(m)[0] === rank(best)[0] && rank(m)[1] < rank(best)[1])) byDevice.set(m.device, m);
    }
    return [...byDevice.values()].sort((a, b) => byCodePoint(a.mountPoint, b.mountPoint));
  }

  /** Mounts a `system` scope leaves out, with their type, so the result can say so. */
  nonLocalMounts(): Mount[] {
    return [...this.byPoint.values()].filter((m) => !LOCAL_DISK_FS_TYPES.has(m.fsType));
  }
}
