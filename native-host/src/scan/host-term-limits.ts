import { compileIndicatorSet, type IocSource } from '../ioc/compile-indicator-set.ts';
import type { IndicatorSet } from '../ioc/indicator-set.ts';
import { compileIocFiles, type IocFileInput, type IocPlan } from '../ioc/load-ioc-files.ts';
import { currentPlatform } from '../ioc/term-table.ts';
import { RootFs } from './critical-areas/root-fs.ts';
import { systemdRunning } from './system-objects/systemd-active-states.ts';

/**
 * Terms this machine cannot produce although its OS can, lower-case term → why. The term table says what each OS's
 * collectors produce; this says what this host lacks at run time, so that such a term is reported unsupported instead
 * of being counted as evaluated and never matching.
 */
export function hostTermLimits(root = '/'): Map<string, string> {
  const limits = new Map<string, string>();
  if (currentPlatform() === 'linux' && !systemdRunning(new RootFs(root))) {
    limits.set(
      'serviceitem/status',
      'ServiceItem/status cannot be evaluated here: systemd is not running (no /run/systemd/system), so no unit has an active state to read',
    );
  }
  return limits;
}

/** IOC files compiled for scanning this machine: its OS's collectors and what this host lacks. */
export function compileForThisHost(sources: readonly IocSource[]): IndicatorSet {
  return compileIndicatorSet(sources, { unavailable: hostTermLimits() });
}

/** IOC files of any format (OpenIOC, STIX 2.1, YARA; told by content) compiled into one plan for this machine. */
export function compileIocFilesForThisHost(inputs: readonly IocFileInput[]): IocPlan {
  return compileIocFiles(inputs, { unavailable: hostTermLimits() });
}
