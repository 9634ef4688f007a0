import type { Finding } from '../critical-areas/collector.ts';
import type { RootFs } from '../critical-areas/root-fs.ts';
import { PROC_NET_TABLES, parseProcNet, type ProcNetSocket } from './proc-net-sockets.ts';
import { socketOwners } from './socket-owners.ts';

const AREA = 'port';

const endpoint = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/**
 * Every TCP and UDP socket of the agent's network namespace (IPv4 and IPv6), as `PortItem` observations with the
 * process that holds it. Sockets of other network namespaces (containers) are not in these tables. Whatever could not
 * be read or attributed is said (`unavailable`), so a `PortItem/pid` term that finds nothing is not mistaken for
 * "no such process owns a socket".
 */
export function* linuxPorts(fs: RootFs): Generator<Finding> {
  const sockets: ProcNetSocket[] = [];
  for (const table of PROC_NET_TABLES) {
    const what = `/proc/net/${table.file}`;
    const text = fs.readText(what);
    if (text === undefined) {
      yield {
        kind: 'unavailable',
        area: AREA,
        what,
        reason: `not readable: its ${table.protocol}${table.isIPv6 ? ' IPv6' : ''} sockets were not examined`,
      };
      continue;
    }
    const parsed = parseProcNet(text, table);
    if (parsed.malformed)
      yield {
        kind: 'unavailable',
        area: AREA,
        what: `${parsed.malformed} line(s) of ${what}`,
        reason: 'not in the layout Sandgate reads: those sockets were not examined',
      };
    sockets.push(...parsed.sockets);
  }
  const { owners, hiddenProcesses } = socketOwners(fs, new Set(sockets.map((s) => s.inode).filter((i) => i > 0)));
  let ownerUnknown = 0;
  for (const s of sockets) {
    const owner = s.inode > 0 ? owners.get(s.inode) : undefined;
    if (s.inode > 0 && !owner) ownerUnknown++;
    const who = owner ? `pid ${owner.pid} (${owner.name})` : s.inode === 0 ? 'held by no process (closing)' : 'owning process not visible';
    yield {
      kind: 'observation',
      area: AREA,
      path: `${s.protocol}${s.isIPv6 ? '6' : ''} ${endpoint(s.localIP, s.localPort)} ${endpoint(s.remoteIP, s.remotePort)}`,
      origin: `${s.state}, ${who}`,
      ...(owner ? { pid: owner.pid } : {}),
      observation: {
        document: 'PortItem',
        protocol: s.protocol,
        localIP: s.localIP,
        localPort: s.localPort,
        remoteIP: s.remoteIP,
        remotePort: s.remotePort,
        isIPv6: s.isIPv6,
        state: s.state,
        ...(owner ? { pid: owner.pid, process: owner.name, ...(owner.path ? { path: owner.path } : {}) } : {}),
      },
    };
  }
  if (ownerUnknown) {
    const reason = hiddenProcesses
      ? `${hiddenProcesses} process(es) may not be inspected as this user (run as root to include them)`
      : 'held by no process of this PID namespace';
    yield {
      kind: 'unavailable',
      area: AREA,
      what: `the owning process of ${ownerUnknown} socket(s)`,
      reason: `${reason}: their PortItem/pid, process and path are unknown`,
    };
  }
}
