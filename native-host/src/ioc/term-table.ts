import { SocketAddress, isIP } from 'node:net';
import type { DocumentName, HashName, Observation } from './observation.ts';

/**
 * The one table of OpenIOC terms Sandgate evaluates: what each reads from an observation, its type (which decides the
 * conditions it accepts) and on which operating systems a collector produces its records. docs/ioc-terms.md is
 * generated from it (`npx node native-host/src/ioc/term-table-doc.ts`); a test fails when the two disagree.
 * A term that is not here is an `UnsupportedTerm`; so is a term on an OS not in its `platforms`.
 *
 * `platforms` is a promise: every term marked `linux` is matched against a planted object (a file, a process, a
 * socket, a systemd unit) by test/integration/native-host/scan/linux-terms-match-planted.test.ts, which fails for a
 * term added here without such a proof. A collector that exists but is only tested on fixtures (Windows, macOS) is
 * `fixtureOnly`: it does not run there yet, so the term is not evaluated there.
 *
 * Longer than most files on purpose: it is one table, read top to bottom, and splitting it by document would let the
 * generated doc and the tests miss a part.
 */

export type TermType = 'string' | 'hash' | 'int' | 'ip' | 'date' | 'bool';
export type Platform = 'linux' | 'windows' | 'macos';
export type TermValue = string | number | Date | undefined;

export interface TermDef {
  /** The `Context/@search` path. */
  term: string;
  document: DocumentName;
  type: TermType;
  /** Where a collector that runs in production produces this term's value. */
  platforms: readonly Platform[];
  /** Where a collector exists but the term is not evaluated: fixtures only (macOS), or not proved live (Windows). */
  fixtureOnly?: readonly Platform[];
  meaning: string;
  /** For hash terms: which hash; the value comes from `FileObservation.hashes()`, never from `value`. */
  hash?: HashName;
  /** Cheap value read straight off the observation (no I/O). */
  value?: (o: Observation) => TermValue;
  /** Brings IOC content to the observation's form (e.g. drops the dot of `.exe`). */
  normalizeContent?: (content: string) => string;
}

const ALL: readonly Platform[] = ['linux', 'windows', 'macos'];
const LINUX: readonly Platform[] = ['linux'];
const WINDOWS: readonly Platform[] = ['windows'];
const NOWHERE: readonly Platform[] = [];

/** Why no collector produces a document on an OS, where there is more to say than "none yet". */
const NOT_COLLECTED: Partial<Record<DocumentName, Partial<Record<Platform, string>>>> = {
  DnsEntryItem: {
    linux:
      "Linux keeps no system-wide DNS cache Sandgate can read (a local resolver's cache, such as systemd-resolved's, is not read yet, and /etc/hosts is not a cache)",
  },
  RegistryItem: { linux: 'the registry exists on Windows only', macos: 'the registry exists on Windows only' },
};

/** Why `def` is not evaluated on `platform`, or undefined when a collector there produces it. */
export function notCollectedReason(def: TermDef, platform: Platform): string | undefined {
  if (def.platforms.includes(platform)) return undefined;
  const why =
    NOT_COLLECTED[def.document]?.[platform] ??
    (def.fixtureOnly?.includes(platform)
      ? platform === 'windows'
        ? `the windows collector of ${def.document} produces such records only in a Critical Areas Scan, and no test yet proves this term against the live system`
        : `the ${platform} collector of ${def.document} is tested on fixtures only and does not run yet`
      : undefined) ??
    `no ${platform} collector produces ${def.document} records${def.platforms.length ? ` (collected on ${def.platforms.join(', ')})` : ''}`;
  return `${def.term} cannot be evaluated on ${platform}: ${why}`;
}

/** OpenIOC booleans as the collectors write them: `true`/`false` (`1`/`0` accepted). */
function booleanText(content: string): string {
  const t = content.trim().toLowerCase();
  return t === '1' || t === 'true' ? 'true' : t === '0' || t === 'false' ? 'false' : content;
}

/** An IP address in the form collectors report (lower case, IPv6 compressed per RFC 5952); other text unchanged. */
export function canonicalIp(content: string): string {
  const t = content.trim();
  const family = isIP(t);
  if (family === 0) return content;
  return new SocketAddress({ address: t, family: family === 4 ? 'ipv4' : 'ipv6' }).address;
}

function on<D extends DocumentName>(
  document: D,
  get: (o: Extract<Observation, { document: D }>) => TermValue,
): (o: Observation) => TermValue {
  return (o) => (o.document === document ? get(o as Extract<Observation, { document: D }>) : undefined);
}

function dirname(p: string): string {
  const cut = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return cut <= 0 ? p.slice(0, cut + 1) : p.slice(0, cut);
}

export const TERM_TABLE: readonly TermDef[] = [
  // FileItem: every file a scan walks, and the executables of processes.
  {
    term: 'FileItem/Md5sum',
    document: 'FileItem',
    type: 'hash',
    platforms: ALL,
    hash: 'md5',
    meaning: 'MD5 of the content (read only when a hash term could still decide)',
  },
  { term: 'FileItem/Sha1sum', document: 'FileItem', type: 'hash', platforms: ALL, hash: 'sha1', meaning: 'SHA-1 of the content' },
  { term: 'FileItem/Sha256sum', document: 'FileItem', type: 'hash', platforms: ALL, hash: 'sha256', meaning: 'SHA-256 of the content' },
  {
    term: 'FileItem/FileName',
    document: 'FileItem',
    type: 'string',
    platforms: ALL,
    value: on('FileItem', (f) => f.fileName),
    meaning: 'file name with its extension',
  },
  {
    term: 'FileItem/FullPath',
    document: 'FileItem',
    type: 'string',
    platforms: ALL,
    value: on('FileItem', (f) => f.fullPath),
    meaning: 'absolute path as found (links not resolved)',
  },
  {
    term: 'FileItem/FilePath',
    document: 'FileItem',
    type: 'string',
    platforms: ALL,
    value: on('FileItem', (f) => dirname(f.fullPath)),
    meaning: 'the folder holding the file, absolute',
  },
  {
    term: 'FileItem/FileExtension',
    document: 'FileItem',
    type: 'string',
    platforms: ALL,
    value: on('FileItem', (f) => f.fileExtension),
    normalizeContent: (c) => c.replace(/^\./, ''),
    meaning: 'extension without the dot (`exe`; an IOC writing `.exe` matches too)',
  },
  {
    term: 'FileItem/SizeInBytes',
    document: 'FileItem',
    type: 'int',
    platforms: ALL,
    value: on('FileItem', (f) => f.size),
    meaning: 'size in bytes',
  },
  {
    term: 'FileItem/Modified',
    document: 'FileItem',
    type: 'date',
    platforms: ALL,
    value: on('FileItem', (f) => f.modified),
    meaning: 'last modification time',
  },
  // ProcessItem: running processes (Linux: /proc), collected in every scope when an IOC asks.
  {
    term: 'ProcessItem/name',
    document: 'ProcessItem',
    type: 'string',
    platforms: LINUX,
    value: on('ProcessItem', (p) => p.name),
    meaning: 'process name, as the collector reports it',
  },
  {
    term: 'ProcessItem/path',
    document: 'ProcessItem',
    type: 'string',
    platforms: LINUX,
    value: on('ProcessItem', (p) => p.path),
    meaning: 'full path of the executable (Linux: `/proc/PID/exe`, may end in ` (deleted)`)',
  },
  {
    term: 'ProcessItem/arguments',
    document: 'ProcessItem',
    type: 'string',
    platforms: LINUX,
    value: on('ProcessItem', (p) => p.arguments),
    meaning: 'command line',
  },
  {
    term: 'ProcessItem/pid',
    document: 'ProcessItem',
    type: 'int',
    platforms: LINUX,
    value: on('ProcessItem', (p) => p.pid),
    meaning: 'process id',
  },
  // PortItem: sockets (Linux: /proc/net/{tcp,tcp6,udp,udp6} of the agent's network namespace, owners from /proc/PID/fd).
  {
    term: 'PortItem/remoteIP',
    document: 'PortItem',
    type: 'ip',
    platforms: LINUX,
    value: on('PortItem', (p) => p.remoteIP),
    normalizeContent: canonicalIp,
    meaning: 'remote address (`matches` takes a CIDR block); `0.0.0.0` or `::` for a listening socket',
  },
  {
    term: 'PortItem/remotePort',
    document: 'PortItem',
    type: 'int',
    platforms: LINUX,
    value: on('PortItem', (p) => p.remotePort),
    meaning: 'remote port (0 for a listening socket)',
  },
  {
    term: 'PortItem/localIP',
    document: 'PortItem',
    type: 'ip',
    platforms: LINUX,
    value: on('PortItem', (p) => p.localIP),
    normalizeContent: canonicalIp,
    meaning: 'local address',
  },
  {
    term: 'PortItem/localPort',
    document: 'PortItem',
    type: 'int',
    platforms: LINUX,
    value: on('PortItem', (p) => p.localPort),
    meaning: 'local port',
  },
  {
    term: 'PortItem/protocol',
    document: 'PortItem',
    type: 'string',
    platforms: LINUX,
    value: on('PortItem', (p) => p.protocol),
    meaning: '`tcp` or `udp`',
  },
  {
    term: 'PortItem/state',
    document: 'PortItem',
    type: 'string',
    platforms: LINUX,
    value: on('PortItem', (p) => p.state),
    meaning: 'TCP state as the kernel names it (`LISTEN`, `ESTABLISHED`, `TIME_WAIT`…); UDP `UNCONN` or `ESTABLISHED`',
  },
  {
    term: 'PortItem/isIPv6',
    document: 'PortItem',
    type: 'bool',
    platforms: LINUX,
    value: on('PortItem', (p) => String(p.isIPv6)),
    normalizeContent: booleanText,
    meaning: 'an IPv6 socket (`true`/`false`)',
  },
  {
    term: 'PortItem/pid',
    document: 'PortItem',
    type: 'int',
    platforms: LINUX,
    value: on('PortItem', (p) => p.pid),
    meaning: "owning process id; absent (the term is false) when the owner is another user's process and Sandgate is not root",
  },
  {
    term: 'PortItem/process',
    document: 'PortItem',
    type: 'string',
    platforms: LINUX,
    value: on('PortItem', (p) => p.process),
    meaning: 'owning process name (as `ProcessItem/name`)',
  },
  {
    term: 'PortItem/path',
    document: 'PortItem',
    type: 'string',
    platforms: LINUX,
    value: on('PortItem', (p) => p.path),
    meaning: 'owning process executable (as `ProcessItem/path`)',
  },
  // DnsEntryItem: the resolver cache. No collector anywhere yet (see NOT_COLLECTED): the engine reads it, no OS feeds it.
  {
    term: 'DnsEntryItem/Host',
    document: 'DnsEntryItem',
    type: 'string',
    platforms: NOWHERE,
    value: on('DnsEntryItem', (d) => d.host),
    meaning: 'host name of the cache entry',
  },
  {
    term: 'DnsEntryItem/RecordName',
    document: 'DnsEntryItem',
    type: 'string',
    platforms: NOWHERE,
    value: on('DnsEntryItem', (d) => d.host),
    meaning: 'record name; the cache entry host (no CNAME chain is kept)',
  },
  {
    term: 'DnsEntryItem/RecordData/Host',
    document: 'DnsEntryItem',
    type: 'string',
    platforms: NOWHERE,
    value: on('DnsEntryItem', (d) => d.recordData),
    meaning: 'record data (a host name for CNAME records)',
  },
  {
    term: 'DnsEntryItem/RecordData/IPv4Address',
    document: 'DnsEntryItem',
    type: 'ip',
    platforms: NOWHERE,
    value: on('DnsEntryItem', (d) => d.recordData),
    meaning: 'record data (an address for A records)',
  },
  // ServiceItem: systemd service units on Linux (system and per user); Windows services on fixtures only.
  {
    term: 'ServiceItem/name',
    document: 'ServiceItem',
    type: 'string',
    platforms: LINUX,
    fixtureOnly: WINDOWS,
    value: on('ServiceItem', (s) => s.name),
    normalizeContent: (c) => c.replace(/\.service$/i, ''),
    meaning: 'service name (Linux: the unit name without `.service`; an IOC writing `cups.service` matches `cups` too)',
  },
  {
    term: 'ServiceItem/descriptiveName',
    document: 'ServiceItem',
    type: 'string',
    platforms: LINUX,
    fixtureOnly: WINDOWS,
    value: on('ServiceItem', (s) => s.descriptiveName),
    meaning: "display name (Linux: the unit's `Description=`)",
  },
  {
    term: 'ServiceItem/path',
    document: 'ServiceItem',
    type: 'string',
    platforms: LINUX,
    fixtureOnly: WINDOWS,
    value: on('ServiceItem', (s) => s.path),
    meaning:
      "executable path (Linux: the program of the unit's `ExecStart=`, drop-ins applied, a bare name looked up in systemd's search path)",
  },
  {
    term: 'ServiceItem/arguments',
    document: 'ServiceItem',
    type: 'string',
    platforms: LINUX,
    fixtureOnly: WINDOWS,
    value: on('ServiceItem', (s) => s.arguments),
    meaning: "command line (Linux: the whole `ExecStart=` line, systemd's `@-:+!` prefixes removed)",
  },
  {
    term: 'ServiceItem/mode',
    document: 'ServiceItem',
    type: 'string',
    platforms: LINUX,
    fixtureOnly: WINDOWS,
    value: on('ServiceItem', (s) => s.mode),
    meaning: 'start mode (Linux: `enabled`, `disabled`, `static` or `masked`, from the unit files and `*.wants/` links)',
  },
  {
    term: 'ServiceItem/status',
    document: 'ServiceItem',
    type: 'string',
    platforms: LINUX,
    value: on('ServiceItem', (s) => s.status),
    meaning:
      "running state (Linux: systemd's active state, `active`, `inactive`, `failed`…; only where systemd runs, otherwise unsupported)",
  },
  // RegistryItem: Windows only; its collector runs on fixtures only.
  {
    term: 'RegistryItem/Path',
    document: 'RegistryItem',
    type: 'string',
    platforms: NOWHERE,
    fixtureOnly: WINDOWS,
    value: on('RegistryItem', (r) => r.path),
    meaning: 'full key path with the value name',
  },
  {
    term: 'RegistryItem/ValueName',
    document: 'RegistryItem',
    type: 'string',
    platforms: NOWHERE,
    fixtureOnly: WINDOWS,
    value: on('RegistryItem', (r) => r.valueName),
    meaning: 'value name',
  },
  {
    term: 'RegistryItem/Text',
    document: 'RegistryItem',
    type: 'string',
    platforms: NOWHERE,
    fixtureOnly: WINDOWS,
    value: on('RegistryItem', (r) => r.text),
    meaning: 'value data as text',
  },
];

const BY_TERM = new Map(TERM_TABLE.map((t) => [t.term.toLowerCase(), t]));

/** Term lookup as IOC editors write them; the case of `search` paths varies between tools (`ProcessItem/Name`). */
export function findTerm(search: string): TermDef | undefined {
  return BY_TERM.get(search.trim().toLowerCase());
}

/** Which conditions a term of this type accepts (`negate` applies to all). */
export const CONDITIONS_BY_TYPE: Record<TermType, readonly string[]> = {
  string: ['is', 'isnot', 'contains', 'containsnot', 'starts-with', 'ends-with', 'matches'],
  hash: ['is', 'isnot', 'contains', 'containsnot', 'starts-with', 'ends-with', 'matches'],
  ip: ['is', 'isnot', 'contains', 'containsnot', 'starts-with', 'ends-with', 'matches'],
  int: ['is', 'isnot', 'greater-than', 'less-than'],
  date: ['is', 'isnot', 'greater-than', 'less-than'],
  bool: ['is', 'isnot'],
};

/** The OS the agent runs on, in the table's terms. */
export function currentPlatform(): Platform {
  return process.platform === 'win32' ? 'windows' : process.platform === 'darwin' ? 'macos' : 'linux';
}
