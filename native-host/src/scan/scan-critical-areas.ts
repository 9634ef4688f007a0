import { join } from 'node:path';
import type { ScanOutput } from '@sandgate/shared';
import type { CriticalAreaCollector } from './critical-areas/collector.ts';
import type { ScanSession } from './scan-session.ts';
import { walkTree } from './walk-tree.ts';

export interface CriticalAreasScanOptions {
  /** Prefix of folder findings when collecting from a fixture tree ('/' in production). */
  root?: string;
  signal?: AbortSignal;
}

/**
 * Runs the collectors and checks every object they name: files through the session (plan, then one read for every
 * hash), other observations (processes) against the sets that look at them, folders walked without following links
 * and without leaving their filesystem. Each object is checked once per place it was found in; its content is read
 * once per scan whatever the number of places (the session's hash cache).
 */
export async function scanCriticalAreas(
  session: ScanSession,
  collectors: readonly CriticalAreaCollector[],
  opts: CriticalAreasScanOptions = {},
): Promise<ScanOutput['kernel']> {
  let kernel: ScanOutput['kernel'];
  const checked = new Set<string>();
  const walked = new Set<string>();
  for (const c of collectors) {
    for await (const f of c.collect()) {
      if (opts.signal?.aborted) return kernel;
      switch (f.kind) {
        case 'file': {
          // Once per place it is named in (each is an entry to clean up); the content is read once (hash cache).
          const key = `${f.path}\0${f.readPath ?? ''}\0${f.origin}`;
          if (checked.has(key)) break;
          checked.add(key);
          await session.checkFile(f);
          break;
        }
        case 'observation': {
          const observation =
            f.observation.document === 'ProcessItem' && f.executable
              ? { ...f.observation, executable: session.lazyFile(f.executable) }
              : f.observation;
          await session.checkObservation(observation, {
            path: f.path,
            area: f.area,
            origin: f.origin,
            ...(f.pid === undefined ? {} : { pid: f.pid }),
          });
          break;
        }
        case 'folder': {
          const real = opts.root && opts.root !== '/' ? join(opts.root, f.path) : f.path;
          for await (const ev of walkTree(real, opts.signal ? { signal: opts.signal } : {})) {
            if (ev.kind === 'file') {
              const shown = real === f.path ? ev.path : f.path + ev.path.slice(real.length);
              const id = `${ev.stat.dev}:${ev.stat.ino}`;
              if (walked.has(id)) continue;
              walked.add(id);
              await session.checkFile({
                path: shown,
                stat: ev.stat,
                area: f.area,
                origin: f.origin,
                ...(real === f.path ? {} : { readPath: ev.path }),
              });
            } else if (ev.kind === 'link') session.counters.linksSkipped++;
            else if (ev.kind === 'error') session.error(ev.path, Object.assign(new Error(ev.message), { code: ev.code }));
          }
          break;
        }
        case 'unavailable':
          session.note(f.area, f.what, f.reason);
          break;
        case 'kernel-taint':
          kernel = { tainted: f.tainted, flags: f.flags, taintedModules: f.taintedModules };
          break;
      }
    }
  }
  return kernel;
}
