import { homedir } from 'node:os';
import type { DocumentName } from '../../ioc/observation.ts';
import type { CriticalAreaCollector, Finding } from '../critical-areas/collector.ts';
import { linuxProcesses } from '../critical-areas/linux-processes.ts';
import { homeFolders } from '../critical-areas/named-files.ts';
import { RootFs } from '../critical-areas/root-fs.ts';
import { linuxPorts } from './linux-ports.ts';
import { DEFAULT_UNIT_DIRS, linuxServices, type SystemdUnitDirs } from './linux-services.ts';
import { systemActiveStates, type ActiveStates } from './systemd-active-states.ts';

/** Test seams: a root prefix (like the Critical Areas collectors'), the unit folders, the homes, systemd's answer. */
export interface SystemObjectOptions {
  root?: string;
  unitDirs?: SystemdUnitDirs;
  /** Homes whose own units are read (default: from /etc/passwd, plus this user's when the root is `/`). */
  homes?: string[];
  systemStates?: (fs: RootFs) => ActiveStates;
}

/** The documents that describe the running system rather than a file, and so are collected whatever the scope. */
export const SYSTEM_DOCUMENTS: readonly DocumentName[] = ['ProcessItem', 'PortItem', 'ServiceItem'];

/**
 * Processes, sockets and services for the IOCs that ask about them, in any scope: `--scope ~/Downloads` with a
 * `PortItem` term still looks at the sockets (as Kaspersky's IOC scan does when an IOC references a document). Only
 * the documents asked for are collected, so a file-only IOC scan does no extra work. Process images are not read here
 * (that is the Critical Areas Scan's job, and outside a PATH scope).
 */
export class LinuxSystemObjects implements CriticalAreaCollector {
  readonly name = 'linux system objects';
  readonly runnableHere = process.platform === 'linux';
  private readonly fs: RootFs;
  private readonly documents: ReadonlySet<DocumentName>;
  private readonly o: SystemObjectOptions;

  constructor(documents: ReadonlySet<DocumentName>, o: SystemObjectOptions = {}) {
    this.fs = new RootFs(o.root ?? '/');
    this.documents = documents;
    this.o = o;
  }

  async *collect(): AsyncGenerator<Finding> {
    const fs = this.fs;
    if (this.documents.has('ProcessItem')) {
      for (const f of linuxProcesses(fs)) {
        if (f.kind === 'observation') {
          const { executable: _, ...observation } = f;
          yield observation;
        } else if (f.kind === 'unavailable') yield f;
      }
    }
    if (this.documents.has('PortItem')) yield* linuxPorts(fs);
    if (this.documents.has('ServiceItem')) {
      const homes = this.o.homes ?? homeFolders(fs, fs.root === '/' ? [homedir()] : []);
      yield* linuxServices(fs, {
        dirs: this.o.unitDirs ?? DEFAULT_UNIT_DIRS,
        homes,
        systemStates: (this.o.systemStates ?? systemActiveStates)(fs),
      });
    }
  }
}

/**
 * The collector of system objects a scan needs: the documents its sets look at, less those the scope's own collectors
 * observe (the Critical Areas Scan observes processes itself). None when nothing is asked, or on another OS.
 */
export function systemObjectCollectors(
  documentSets: ReadonlyArray<ReadonlySet<DocumentName>>,
  scope: 'critical' | 'files',
  o: SystemObjectOptions = {},
): CriticalAreaCollector[] {
  const wanted = new Set<DocumentName>();
  for (const docs of documentSets)
    for (const d of docs) if (SYSTEM_DOCUMENTS.includes(d) && !(scope === 'critical' && d === 'ProcessItem')) wanted.add(d);
  return wanted.size && process.platform === 'linux' ? [new LinuxSystemObjects(wanted, o)] : [];
}
