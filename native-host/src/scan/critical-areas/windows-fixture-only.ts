import type { CriticalAreaCollector, Finding } from './collector.ts';
import { WindowsAreas, type RegistryDump } from './windows-areas.ts';
import { FixtureWindowsFiles } from './windows-files.ts';

export { RUN_KEYS, STARTUP_VALUES, type RegistryDump } from './windows-areas.ts';
export { expandWindowsPath, windowsCommandPaths } from './windows-paths.ts';

/**
 * Windows Critical Areas on fixtures: a JSON registry export and a folder standing for C:\ (any OS). The live
 * collector (`windows-live.ts`) runs the same areas over the real registry and drive on Windows.
 */
export class WindowsCriticalAreasFixtureOnly implements CriticalAreaCollector {
  readonly name = 'windows (fixture only)';
  readonly runnableHere = false;
  private readonly areas: WindowsAreas;

  /** `root` stands for C:\; `physicalDrive` for \\.\PhysicalDrive0 (a file in fixtures). */
  constructor(opts: { root: string; registry: RegistryDump; physicalDrive?: string }) {
    this.areas = new WindowsAreas({
      files: new FixtureWindowsFiles(opts.root),
      registry: opts.registry,
      ...(opts.physicalDrive ? { physicalDrive: opts.physicalDrive } : {}),
    });
  }

  collect(): AsyncGenerator<Finding> {
    return this.areas.collect();
  }
}
