/**
 * What a scan hands to the indicator engine: one observed thing at a time, shaped after the OpenIOC document it can be
 * matched against (FileItem, ProcessItem, …). Collectors (scan/) produce these; the engine (ioc/) only reads them.
 * Hashes are lazy: a file is only read when a hash term could still decide a match, and then once for every hash.
 */
export type HashName = 'md5' | 'sha1' | 'sha256';

export interface FileObservation {
  document: 'FileItem';
  /** Absolute path as found (never resolved through links). */
  fullPath: string;
  fileName: string;
  /** Without the dot, lower case; '' when none. */
  fileExtension: string;
  size: number;
  modified: Date;
  /** Reads the file once and returns every hash asked for; cached, so asking again costs nothing. */
  hashes(needed: ReadonlySet<HashName>): Promise<Partial<Record<HashName, string>>>;
  /**
   * The file's first bytes, at most `maxBytes` (YARA rules scan content). Read in the same pass as any hashes the plan
   * named; absent where the observation has no readable content. Added for issue 18.
   */
  content?(maxBytes: number): Promise<Uint8Array>;
  /** Where the scan found it: `process`, `autostart`, `system-binaries`, `user-startup`, `path`, `boot-sector`… */
  area?: string;
}

export interface ProcessObservation {
  document: 'ProcessItem';
  pid: number;
  name: string;
  /** Executable path; on Linux from /proc/PID/exe (may end in " (deleted)"). */
  path?: string;
  arguments?: string;
  /** The executable no longer exists on disk, or never did (memfd). */
  deleted?: boolean;
  /** The executable's content, when it can be read (for hash terms), even when deleted. */
  executable?: FileObservation;
}

export interface PortObservation {
  document: 'PortItem';
  protocol: 'tcp' | 'udp';
  /** Canonical text (RFC 5952 for IPv6: `::1`, `::ffff:127.0.0.1`). */
  localIP: string;
  localPort: number;
  remoteIP?: string;
  remotePort?: number;
  isIPv6: boolean;
  /** Linux: the kernel's name for the TCP state (`LISTEN`, `ESTABLISHED`…); UDP `UNCONN` or `ESTABLISHED`. */
  state?: string;
  /** The owning process; absent when it could not be seen (another user's process, as non-root), never guessed. */
  pid?: number;
  /** The owning process's name and executable path. */
  process?: string;
  path?: string;
}

export interface DnsEntryObservation {
  document: 'DnsEntryItem';
  host: string;
  recordData?: string;
}

export interface ServiceObservation {
  document: 'ServiceItem';
  /** Linux: the systemd unit name without `.service`. */
  name: string;
  descriptiveName?: string;
  path?: string;
  arguments?: string;
  /** Start mode. Linux: `enabled`, `disabled`, `static`, `masked` (from the unit files and their `*.wants/` links). */
  mode?: string;
  /** Running state. Linux: systemd's active state, absent when it could not be determined (systemd not running). */
  status?: string;
}

export interface RegistryObservation {
  document: 'RegistryItem';
  path: string;
  valueName?: string;
  text?: string;
}

export type Observation =
  FileObservation | ProcessObservation | PortObservation | DnsEntryObservation | ServiceObservation | RegistryObservation;
export type DocumentName = Observation['document'];
