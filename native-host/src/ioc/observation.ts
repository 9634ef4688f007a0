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
  localIP: string;
  localPort: number;
  remoteIP?: string;
  remotePort?: number;
  state?: string;
  pid?: number;
}

export interface DnsEntryObservation {
  document: 'DnsEntryItem';
  host: string;
  recordData?: string;
}

export interface ServiceObservation {
  document: 'ServiceItem';
  name: string;
  descriptiveName?: string;
  path?: string;
  arguments?: string;
  mode?: string;
  status?: string;
}

export interface RegistryObservation {
  document: 'RegistryItem';
  path: string;
  valueName?: string;
  text?: string;
}

export type Observation = FileObservation | ProcessObservation | PortObservation | DnsEntryObservation | ServiceObservation | RegistryObservation;
export type DocumentName = Observation['document'];
