import type { Stats } from 'node:fs';
import type { Observation } from '../../ioc/observation.ts';
import type { HashFileOptions } from '../file-hasher.ts';

/**
 * Where an object was found. Stable names (the JSON output carries them): `process`, `kernel-module`, `autostart`,
 * `system-binaries`, `user-startup`, `boot-sector`; Windows adds `registry-run`, `service`, `scheduled-task`;
 * macOS `launchd`, `login-item`.
 */
export type CriticalArea = string;

/** A file a collector names: an executable, a unit file, a script, a library, a boot sector. */
export interface FileFinding {
  kind: 'file';
  area: CriticalArea;
  /** The path as the system names it (for a deleted executable, the name it had). */
  path: string;
  /** Where the bytes are read when not from `path` (e.g. /proc/PID/exe). */
  readPath?: string;
  stat: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtime' | 'mtimeMs'>;
  hashOptions?: HashFileOptions;
  /** How the area refers to it, e.g. `systemd unit /etc/systemd/system/x.service ExecStart`. */
  origin: string;
  pid?: number;
}

/** Anything else observed: a process, a service, a registry value. */
export interface ObservationFinding {
  kind: 'observation';
  area: CriticalArea;
  path: string;
  origin: string;
  observation: Exclude<Observation, { document: 'FileItem' }>;
  pid?: number;
  /** A process's image, offered to hash terms on the process (read through the scan's shared cache). */
  executable?: FileFinding;
}

/** A folder to walk (system binary folders, user startup folders). */
export interface FolderFinding {
  kind: 'folder';
  area: CriticalArea;
  path: string;
  origin: string;
}

/** Something that could not be examined, and why ("not readable as this user", "no such file"…). */
export interface UnavailableFinding {
  kind: 'unavailable';
  area: CriticalArea;
  what: string;
  reason: string;
}

/** Kernel taint, decoded (Linux). */
export interface KernelTaintFinding {
  kind: 'kernel-taint';
  tainted: number;
  flags: Array<{ bit: number; letter: string; meaning: string }>;
  taintedModules: Array<{ name: string; taint: string }>;
}

export type Finding = FileFinding | ObservationFinding | FolderFinding | UnavailableFinding | KernelTaintFinding;

/**
 * One OS's critical areas. Every collector reads below a root prefix (`/` in production, a fixture tree in tests), so
 * each is testable on fixtures, including those for the OSes this machine is not.
 */
export interface CriticalAreaCollector {
  readonly name: string;
  /** Whether it can run on this machine (the Windows and macOS collectors only run on fixtures here). */
  readonly runnableHere: boolean;
  collect(): AsyncIterable<Finding>;
}
