import type { DocumentName, HashName, Observation } from './observation.ts';

/**
 * The one table of OpenIOC terms Sandgate evaluates: what each reads from an observation, its type (which decides the
 * conditions it accepts) and on which operating systems a collector provides its document. docs/ioc-terms.md is
 * generated from it (`npx node native-host/src/ioc/term-table-doc.ts`); a test fails when the two disagree.
 * A term that is not here is an `UnsupportedTerm`.
 */

export type TermType = 'string' | 'hash' | 'int' | 'ip' | 'date';
export type Platform = 'linux' | 'windows' | 'macos';
export type TermValue = string | number | Date | undefined;

export interface TermDef {
  /** The `Context/@search` path. */
  term: string;
  document: DocumentName;
  type: TermType;
  platforms: readonly Platform[];
  meaning: string;
  /** For hash terms: which hash; the value comes from `FileObservation.hashes()`, never from `value`. */
  hash?: HashName;
  /** Cheap value read straight off the observation (no I/O). */
  value?: (o: Observation) => TermValue;
  /** Brings IOC content to the observation's form (e.g. drops the dot of `.exe`). */
  normalizeContent?: (content: string) => string;
}

const ALL: readonly Platform[] = ['linux', 'windows', 'macos'];

function on<D extends DocumentName>(document: D, get: (o: Extract<Observation, { document: D }>) => TermValue): (o: Observation) => TermValue {
  return (o) => (o.document === document ? get(o as Extract<Observation, { document: D }>) : undefined);
}

function dirname(p: string): string {
  const cut = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return cut <= 0 ? p.slice(0, cut + 1) : p.slice(0, cut);
}

export const TERM_TABLE: readonly TermDef[] = [
  // FileItem: every file a scan walks, and the executables of processes.
  { term: 'FileItem/Md5sum', document: 'FileItem', type: 'hash', platforms: ALL, hash: 'md5', meaning: 'MD5 of the content (read only when a hash term could still decide)' },
  { term: 'FileItem/Sha1sum', document: 'FileItem', type: 'hash', platforms: ALL, hash: 'sha1', meaning: 'SHA-1 of the content' },
  { term: 'FileItem/Sha256sum', document: 'FileItem', type: 'hash', platforms: ALL, hash: 'sha256', meaning: 'SHA-256 of the content' },
  { term: 'FileItem/FileName', document: 'FileItem', type: 'string', platforms: ALL, value: on('FileItem', (f) => f.fileName), meaning: 'file name with its extension' },
  { term: 'FileItem/FullPath', document: 'FileItem', type: 'string', platforms: ALL, value: on('FileItem', (f) => f.fullPath), meaning: 'absolute path as found (links not resolved)' },
  { term: 'FileItem/FilePath', document: 'FileItem', type: 'string', platforms: ALL, value: on('FileItem', (f) => dirname(f.fullPath)), meaning: 'the folder holding the file, absolute' },
  {
    term: 'FileItem/FileExtension',
    document: 'FileItem',
    type: 'string',
    platforms: ALL,
    value: on('FileItem', (f) => f.fileExtension),
    normalizeContent: (c) => c.replace(/^\./, ''),
    meaning: 'extension without the dot (`exe`; an IOC writing `.exe` matches too)',
  },
  { term: 'FileItem/SizeInBytes', document: 'FileItem', type: 'int', platforms: ALL, value: on('FileItem', (f) => f.size), meaning: 'size in bytes' },
  { term: 'FileItem/Modified', document: 'FileItem', type: 'date', platforms: ALL, value: on('FileItem', (f) => f.modified), meaning: 'last modification time' },
  // ProcessItem: running processes.
  { term: 'ProcessItem/name', document: 'ProcessItem', type: 'string', platforms: ALL, value: on('ProcessItem', (p) => p.name), meaning: 'process name, as the collector reports it' },
  { term: 'ProcessItem/path', document: 'ProcessItem', type: 'string', platforms: ALL, value: on('ProcessItem', (p) => p.path), meaning: 'full path of the executable (Linux: `/proc/PID/exe`, may end in ` (deleted)`)' },
  { term: 'ProcessItem/arguments', document: 'ProcessItem', type: 'string', platforms: ALL, value: on('ProcessItem', (p) => p.arguments), meaning: 'command line' },
  { term: 'ProcessItem/pid', document: 'ProcessItem', type: 'int', platforms: ALL, value: on('ProcessItem', (p) => p.pid), meaning: 'process id' },
  // PortItem: sockets.
  { term: 'PortItem/remoteIP', document: 'PortItem', type: 'ip', platforms: ALL, value: on('PortItem', (p) => p.remoteIP), meaning: 'remote address (`matches` takes a CIDR block)' },
  { term: 'PortItem/remotePort', document: 'PortItem', type: 'int', platforms: ALL, value: on('PortItem', (p) => p.remotePort), meaning: 'remote port' },
  { term: 'PortItem/localIP', document: 'PortItem', type: 'ip', platforms: ALL, value: on('PortItem', (p) => p.localIP), meaning: 'local address' },
  { term: 'PortItem/localPort', document: 'PortItem', type: 'int', platforms: ALL, value: on('PortItem', (p) => p.localPort), meaning: 'local port' },
  { term: 'PortItem/protocol', document: 'PortItem', type: 'string', platforms: ALL, value: on('PortItem', (p) => p.protocol), meaning: '`tcp` or `udp`' },
  { term: 'PortItem/state', document: 'PortItem', type: 'string', platforms: ALL, value: on('PortItem', (p) => p.state), meaning: 'socket state (`LISTEN`, `ESTABLISHED`…)' },
  { term: 'PortItem/pid', document: 'PortItem', type: 'int', platforms: ALL, value: on('PortItem', (p) => p.pid), meaning: 'owning process id' },
  // DnsEntryItem: the resolver cache.
  { term: 'DnsEntryItem/Host', document: 'DnsEntryItem', type: 'string', platforms: ALL, value: on('DnsEntryItem', (d) => d.host), meaning: 'host name of the cache entry' },
  { term: 'DnsEntryItem/RecordName', document: 'DnsEntryItem', type: 'string', platforms: ALL, value: on('DnsEntryItem', (d) => d.host), meaning: 'record name; the cache entry host (no CNAME chain is kept)' },
  { term: 'DnsEntryItem/RecordData/Host', document: 'DnsEntryItem', type: 'string', platforms: ALL, value: on('DnsEntryItem', (d) => d.recordData), meaning: 'record data (a host name for CNAME records)' },
  { term: 'DnsEntryItem/RecordData/IPv4Address', document: 'DnsEntryItem', type: 'ip', platforms: ALL, value: on('DnsEntryItem', (d) => d.recordData), meaning: 'record data (an address for A records)' },
  // ServiceItem: Windows services, systemd units on Linux, launchd jobs on macOS.
  { term: 'ServiceItem/name', document: 'ServiceItem', type: 'string', platforms: ALL, value: on('ServiceItem', (s) => s.name), meaning: 'service name (Linux: systemd unit name)' },
  { term: 'ServiceItem/descriptiveName', document: 'ServiceItem', type: 'string', platforms: ALL, value: on('ServiceItem', (s) => s.descriptiveName), meaning: 'display name (Linux: unit `Description=`)' },
  { term: 'ServiceItem/path', document: 'ServiceItem', type: 'string', platforms: ALL, value: on('ServiceItem', (s) => s.path), meaning: 'executable path (Linux: the `ExecStart=` program of the unit)' },
  { term: 'ServiceItem/arguments', document: 'ServiceItem', type: 'string', platforms: ALL, value: on('ServiceItem', (s) => s.arguments), meaning: 'arguments' },
  { term: 'ServiceItem/mode', document: 'ServiceItem', type: 'string', platforms: ALL, value: on('ServiceItem', (s) => s.mode), meaning: 'start mode' },
  { term: 'ServiceItem/status', document: 'ServiceItem', type: 'string', platforms: ALL, value: on('ServiceItem', (s) => s.status), meaning: 'running state' },
  // RegistryItem: Windows only; evaluated against fixtures here.
  { term: 'RegistryItem/Path', document: 'RegistryItem', type: 'string', platforms: ['windows'], value: on('RegistryItem', (r) => r.path), meaning: 'full key path with the value name' },
  { term: 'RegistryItem/ValueName', document: 'RegistryItem', type: 'string', platforms: ['windows'], value: on('RegistryItem', (r) => r.valueName), meaning: 'value name' },
  { term: 'RegistryItem/Text', document: 'RegistryItem', type: 'string', platforms: ['windows'], value: on('RegistryItem', (r) => r.text), meaning: 'value data as text' },
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
};

/** The OS the agent runs on, in the table's terms. */
export function currentPlatform(): Platform {
  return process.platform === 'win32' ? 'windows' : process.platform === 'darwin' ? 'macos' : 'linux';
}
