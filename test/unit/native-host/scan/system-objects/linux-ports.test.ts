import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureTree } from '#test-helpers/fixture-tree.ts';
import type { Finding } from '#native-host/scan/critical-areas/collector.ts';
import { RootFs } from '#native-host/scan/critical-areas/root-fs.ts';
import { linuxPorts } from '#native-host/scan/system-objects/linux-ports.ts';
import { decodeProcAddress, parseProcNet, PROC_NET_TABLES } from '#native-host/scan/system-objects/proc-net-sockets.ts';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const [TCP, , UDP] = PROC_NET_TABLES;

/** An address as this machine's kernel prints it (each 32-bit word in memory order, `%08X`). */
function procHex(bytes: number[]): string {
  const b = Buffer.from(bytes);
  if (endianness() === 'LE') for (let w = 0; w < b.length; w += 4) b.subarray(w, w + 4).reverse();
  return b.toString('hex').toUpperCase();
}
const v4 = (ip: string) => procHex(ip.split('.').map(Number));
const V6_LOOPBACK = procHex([...Array(15).fill(0), 1]);
const V6_MAPPED = (ip: string) => procHex([...Array(10).fill(0), 0xff, 0xff, ...ip.split('.').map(Number)]);
const line = (i: number, local: string, remote: string, st: string, inode: number) =>
  `   ${i}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000  1000        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`;

describe('reading /proc/net socket tables', () => {
  it('decodes addresses in the order the kernel prints them, on either byte order', () => {
    expect(decodeProcAddress('0100007F', true)).toBe('127.0.0.1');
    expect(decodeProcAddress('7F000001', false)).toBe('127.0.0.1');
    expect(decodeProcAddress('00000000000000000000000001000000', true)).toBe('::1');
    expect(decodeProcAddress('0000000000000000FFFF00000100007F', true)).toBe('::ffff:127.0.0.1');
    expect(decodeProcAddress('B80D0120000000000000000001000000', true)).toBe('2001:db8::1');
  });

  it('gives TCP states their kernel names, UDP sockets UNCONN or ESTABLISHED, and skips lines of another shape', () => {
    const tcp = parseProcNet(
      HEADER +
        line(0, `${v4('127.0.0.1')}:1F90`, `${v4('0.0.0.0')}:0000`, '0A', 111) +
        line(1, `${v4('10.0.0.5')}:C738`, `${v4('203.0.113.9')}:115C`, '01', 112) +
        '   2: garbage\n',
      TCP,
    );
    expect(tcp.malformed).toBe(1);
    expect(tcp.sockets).toEqual([
      {
        protocol: 'tcp',
        isIPv6: false,
        localIP: '127.0.0.1',
        localPort: 8080,
        remoteIP: '0.0.0.0',
        remotePort: 0,
        state: 'LISTEN',
        inode: 111,
      },
      {
        protocol: 'tcp',
        isIPv6: false,
        localIP: '10.0.0.5',
        localPort: 51000,
        remoteIP: '203.0.113.9',
        remotePort: 4444,
        state: 'ESTABLISHED',
        inode: 112,
      },
    ]);
    const udp = parseProcNet(HEADER + line(0, `${v4('0.0.0.0')}:0035`, `${v4('0.0.0.0')}:0000`, '07', 113), UDP);
    expect(udp.sockets[0]).toMatchObject({ protocol: 'udp', localPort: 53, state: 'UNCONN' });
  });
});

describe('sockets as PortItem observations', () => {
  let root: string;
  const { put, link } = fixtureTree(() => root);
  let found: Finding[];

  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-ports-')));
    put(
      'proc/net/tcp',
      HEADER +
        line(0, `${v4('127.0.0.1')}:1F90`, `${v4('0.0.0.0')}:0000`, '0A', 5001) +
        line(1, `${v4('127.0.0.1')}:9C40`, `${v4('127.0.0.1')}:1F90`, '06', 0),
    );
    put(
      'proc/net/tcp6',
      HEADER +
        line(0, `${V6_LOOPBACK}:1F91`, `${V6_LOOPBACK}:0000`, '0A', 5002) +
        line(1, `${V6_MAPPED('10.1.2.3')}:01BB`, `${V6_MAPPED('198.51.100.23')}:D431`, '01', 5003),
    );
    put('proc/net/udp', HEADER);
    // udp6 missing: IPv6 off, or a kernel without it
    put('usr/bin/webd', 'web daemon');
    link(join(root, 'usr/bin/webd'), 'proc/300/exe');
    put('proc/300/comm', 'webd\n');
    link('socket:[5001]', 'proc/300/fd/3');
    link('socket:[5002]', 'proc/300/fd/4');
    link('/dev/null', 'proc/300/fd/0');
    link('socket:[5001]', 'proc/301/fd/3'); // a forked child sharing the listener
    // 5003 is held by nobody this fixture shows
    found = [...linuxPorts(new RootFs(root))];
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const ports = () => found.flatMap((f) => (f.kind === 'observation' && f.observation.document === 'PortItem' ? [f] : []));

  it('names each socket with the process that holds it (the lowest pid when shared), its name and executable', () => {
    const listener = ports().find((p) => p.path === 'tcp 127.0.0.1:8080 0.0.0.0:0')!;
    expect(listener).toMatchObject({ area: 'port', pid: 300, origin: 'LISTEN, pid 300 (webd)' });
    expect(listener.observation).toEqual({
      document: 'PortItem',
      protocol: 'tcp',
      localIP: '127.0.0.1',
      localPort: 8080,
      remoteIP: '0.0.0.0',
      remotePort: 0,
      isIPv6: false,
      state: 'LISTEN',
      pid: 300,
      process: 'webd',
      path: '/usr/bin/webd',
    });
    expect(ports().find((p) => p.path === 'tcp6 [::1]:8081 [::1]:0')?.observation).toMatchObject({
      isIPv6: true,
      localIP: '::1',
      pid: 300,
    });
  });

  it('leaves the owner out when it cannot be seen, and says so; a closing socket has none to find', () => {
    const mapped = ports().find((p) => p.path.startsWith('tcp6 [::ffff:10.1.2.3]:443'))!;
    expect(mapped.observation).not.toHaveProperty('pid');
    expect(mapped.observation).toMatchObject({ remoteIP: '::ffff:198.51.100.23', remotePort: 54321, state: 'ESTABLISHED' });
    expect(mapped.origin).toBe('ESTABLISHED, owning process not visible');
    const closing = ports().find((p) => p.path === 'tcp 127.0.0.1:40000 127.0.0.1:8080')!;
    expect(closing.origin).toBe('TIME_WAIT, held by no process (closing)');
    expect(found).toContainEqual({
      kind: 'unavailable',
      area: 'port',
      what: 'the owning process of 1 socket(s)',
      reason: expect.stringContaining('PortItem/pid, process and path are unknown'),
    });
  });

  it('says which table could not be read', () => {
    expect(found).toContainEqual({
      kind: 'unavailable',
      area: 'port',
      what: '/proc/net/udp6',
      reason: 'not readable: its udp IPv6 sockets were not examined',
    });
  });
});
