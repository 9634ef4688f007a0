import { SocketAddress } from 'node:net';
import { endianness } from 'node:os';

/** One line of /proc/net/{tcp,tcp6,udp,udp6}, decoded. */
export interface ProcNetSocket {
  protocol: 'tcp' | 'udp';
  isIPv6: boolean;
  localIP: string;
  localPort: number;
  remoteIP: string;
  remotePort: number;
  state: string;
  /** The socket's inode, which names it in /proc/PID/fd (`socket:[INODE]`); 0 for sockets no file refers to (TIME_WAIT). */
  inode: number;
}

export const PROC_NET_TABLES = [
  { file: 'tcp', protocol: 'tcp', isIPv6: false },
  { file: 'tcp6', protocol: 'tcp', isIPv6: true },
  { file: 'udp', protocol: 'udp', isIPv6: false },
  { file: 'udp6', protocol: 'udp', isIPv6: true },
] as const;

/** include/net/tcp_states.h. */
const TCP_STATES = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
];

/**
 * The kernel prints each 32-bit word of an address with `%08X` of the value as it sits in memory, so on a
 * little-endian machine the bytes of each word come out reversed; ports are printed in host order already.
 */
export function decodeProcAddress(hex: string, littleEndian = endianness() === 'LE'): string {
  const bytes = Buffer.from(hex, 'hex');
  if (littleEndian) for (let w = 0; w < bytes.length; w += 4) bytes.subarray(w, w + 4).reverse();
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // inet_ntop's form: compressed, lower case, `::ffff:a.b.c.d` for IPv4-mapped addresses.
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

/**
 * The sockets of one table. A line that does not have the documented shape is skipped and counted, not guessed at
 * (a kernel with another layout must not yield wrong ports).
 */
export function parseProcNet(
  text: string,
  table: (typeof PROC_NET_TABLES)[number],
  littleEndian?: boolean,
): { sockets: ProcNetSocket[]; malformed: number } {
  const sockets: ProcNetSocket[] = [];
  let malformed = 0;
  const lines = text.split('\n').slice(1);
  const addr = table.isIPv6 ? /^([0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/ : /^([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})$/;
  for (const line of lines) {
    if (!line.trim()) continue;
    const f = line.trim().split(/\s+/);
    const local = addr.exec(f[1] ?? '');
    const remote = addr.exec(f[2] ?? '');
    const st = /^[0-9A-Fa-f]{2}$/.test(f[3] ?? '') ? parseInt(f[3]!, 16) : -1;
    const inode = /^\d+$/.test(f[9] ?? '') ? Number(f[9]) : -1;
    if (!local || !remote || st < 0 || inode < 0) {
      malformed++;
      continue;
    }
    sockets.push({
      protocol: table.protocol,
      isIPv6: table.isIPv6,
      localIP: decodeProcAddress(local[1]!, littleEndian),
      localPort: parseInt(local[2]!, 16),
      remoteIP: decodeProcAddress(remote[1]!, littleEndian),
      remotePort: parseInt(remote[2]!, 16),
      // UDP reuses TCP_ESTABLISHED for a connected socket and TCP_CLOSE for an unconnected one (what `ss` shows as UNCONN).
      state: table.protocol === 'udp' ? (st === 1 ? 'ESTABLISHED' : 'UNCONN') : (TCP_STATES[st] ?? `0x${f[3]}`),
      inode,
    });
  }
  return { sockets, malformed };
}
