import { describe, expect, it } from 'vitest';
import { MountTable, parseMountInfo } from '#native-host/scan/mount-table.ts';
import { systemRoots } from '#native-host/scan/scan-paths.ts';

const MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw
27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
28 27 8:2 / /home rw,relatime shared:5 - xfs /dev/sda2 rw
29 27 8:1 /srv/data /mnt/bind rw,relatime - ext4 /dev/sda1 rw
30 27 0:40 / /mnt/my\\040share rw - cifs //server/share rw
31 27 0:41 / /mnt/remote rw - fuse.sshfs user@host: rw
32 27 0:42 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw
33 27 0:43 / /run rw - tmpfs tmpfs rw
34 27 7:0 / /snap/core/1 ro - squashfs /dev/loop0 ro
35 27 0:44 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
`;

describe('the mount table', () => {
  it('decodes mountinfo, escapes included', () => {
    const m = parseMountInfo(MOUNTINFO);
    expect(m.find((x) => x.fsType === 'cifs')).toMatchObject({ mountPoint: '/mnt/my share', source: '//server/share', device: '0:40' });
    expect(m.find((x) => x.mountPoint === '/mnt/bind')).toMatchObject({ fsRoot: '/srv/data', device: '8:1' });
  });

  it('the system scope is every local disk filesystem once; virtual, network, overlay and image mounts are left out and named', () => {
    const { roots, left } = systemRoots(new MountTable(parseMountInfo(MOUNTINFO)));
    expect(roots).toEqual(['/', '/home']);
    expect(left.map((l) => `${l.path} ${l.fsType}`).sort()).toEqual([
      '/dev devtmpfs',
      '/mnt/my share cifs',
      '/mnt/remote fuse.sshfs',
      '/proc proc',
      '/run tmpfs',
      '/snap/core/1 squashfs',
      '/sys/fs/cgroup cgroup2',
      '/var/lib/docker/overlay2/x/merged overlay',
    ]);
  });

  it('finds the mount a path lives on', () => {
    const t = new MountTable(parseMountInfo(MOUNTINFO));
    expect(t.containing('/home/user/file')?.device).toBe('8:2');
    expect(t.containing('/homer')?.device).toBe('8:1');
  });
});
