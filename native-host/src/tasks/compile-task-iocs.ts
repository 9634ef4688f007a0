import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IndicatorSet } from '../ioc/indicator-set.ts';
import { compileIocFilesForThisHost } from '../scan/host-term-limits.ts';

/** The IOC files kept in a task folder (OpenIOC, STIX 2.1, YARA), compiled into one set (file names as shown in reports). */
export function compileTaskIocs(iocDir: string): IndicatorSet {
  let names: string[];
  try {
    names = readdirSync(iocDir).sort();
  } catch {
    names = [];
  }
  return compileIocFilesForThisHost(names.map((name) => ({ file: name, bytes: readFileSync(join(iocDir, name)) }))).set;
}

/** A file name safe to keep in the task folder, in the order given: `1-name.ioc`. */
export function storedIocName(index: number, original: string): string {
  const base = original.split(/[\\/]/).pop() || 'ioc';
  return `${index + 1}-${base.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100)}`;
}
