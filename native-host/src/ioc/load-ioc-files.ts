import { basename } from 'node:path';
import type { IocFormat } from '@sandgate/shared';
import { combineIndicatorSets, type PlanPart } from './combined-indicator-set.ts';
import { compileIndicatorSet, type CompileOptions, type IocSource } from './compile-indicator-set.ts';
import { detectIocFormat } from '@sandgate/shared';
import type { IndicatorSet, UnsupportedTerm } from './indicator-set.ts';
import { loadStix } from './load-stix.ts';
import { parseOpenIoc } from '@sandgate/shared/openioc-parse';
import { STIX_PATHS } from './stix-object-paths.ts';
import { compileYaraFiles, type YaraSource } from './yara-rule-set.ts';

/**
 * The one way IOC files become a scan plan, for `sandgate ioc scan`, IOC scan tasks and the after-threat action:
 * each file's format is told by its content (detect-ioc-format.ts), OpenIOC and STIX compile into the OpenIOC engine's
 * indexed plan (separately, so each match names its format), YARA rules into YARA-X, and the three become one
 * `IndicatorSet` that the scan walks once.
 */

export interface IocFileInput {
  /** The name reports show (a path, or the name kept in a task folder). */
  file: string;
  bytes: Uint8Array;
  /** The path the person gave, for error messages (default `file`). */
  source?: string;
}

export interface LoadedIocFile {
  file: string;
  format: IocFormat;
  /** OpenIOC: the IOC's id; STIX: the bundle's (or indicator's) id; YARA: the file name. */
  id: string;
}

export interface IocPlan {
  set: IndicatorSet;
  files: LoadedIocFile[];
}

/** Engine term → the STIX path shown for it (the first path listed for that term). */
const STIX_LABEL = new Map<string, string>();
for (const d of STIX_PATHS)
  if (!STIX_LABEL.has(d.term)) STIX_LABEL.set(d.term, d.via === 'basename' ? `${d.path} (from the executable's path)` : d.path);

function stixRelabel(term: string): string {
  const m = /^([A-Za-z]+Item\/[A-Za-z0-9/]+)( = .*)?$/s.exec(term);
  const label = m ? STIX_LABEL.get(m[1]!) : undefined;
  return label ? `${label}${m![2] ?? ''}` : term;
}

export function compileIocFiles(inputs: readonly IocFileInput[], options: CompileOptions & { now?: Date } = {}): IocPlan {
  const openioc: IocSource[] = [];
  const stix: IocSource[] = [];
  const stixUnsupported: UnsupportedTerm[] = [];
  const yara: YaraSource[] = [];
  const files: LoadedIocFile[] = [];
  for (const input of inputs) {
    const shown = input.source ?? input.file;
    const format = detectIocFormat(input.bytes, shown);
    if (format === 'openioc') {
      const ioc = parseOpenIoc(input.bytes, shown);
      openioc.push({ file: input.file, ioc });
      files.push({ file: input.file, format, id: ioc.id });
    } else if (format === 'stix') {
      const loaded = loadStix(input.bytes, input.file, options.now, shown);
      stix.push(...loaded.sources);
      stixUnsupported.push(...loaded.unsupported);
      files.push({ file: input.file, format, id: loaded.id });
    } else {
      yara.push({ file: input.file, source: new TextDecoder().decode(input.bytes) });
      files.push({ file: input.file, format, id: basename(input.file) });
    }
  }
  const parts: PlanPart[] = [];
  if (openioc.length) parts.push({ format: 'openioc', set: compileIndicatorSet(openioc, options) });
  if (stix.length) parts.push({ format: 'stix', set: compileIndicatorSet(stix, options), relabel: stixRelabel });
  const y = compileYaraFiles(yara);
  if (y.set) parts.push({ format: 'yara', set: y.set });
  // YARA files whose every rule failed have no set: their reasons are reported all the same.
  const extra = [...stixUnsupported, ...(y.set ? [] : y.unsupported)];
  return { set: combineIndicatorSets(parts, { unsupported: extra }), files };
}
