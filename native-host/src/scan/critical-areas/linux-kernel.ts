import type { Finding, KernelTaintFinding } from './collector.ts';
import { fileAt } from './named-files.ts';
import type { RootFs } from './root-fs.ts';

/** The kernel's taint bits (Documentation/admin-guide/tainted-kernels.rst). */
export const TAINT_FLAGS: ReadonlyArray<[letter: string, meaning: string]> = [
  ['P', 'proprietary module loaded'],
  ['F', 'module force-loaded'],
  ['S', 'kernel running on an out-of-specification system'],
  ['R', 'module force-unloaded'],
  ['M', 'machine check exception'],
  ['B', 'bad page referenced or unexpected page flags'],
  ['U', 'taint requested by userspace'],
  ['D', 'kernel died recently (OOPS or BUG)'],
  ['A', 'ACPI table overridden by user'],
  ['W', 'kernel issued a warning'],
  ['C', 'staging driver loaded'],
  ['I', 'workaround for a platform firmware bug applied'],
  ['O', 'externally-built (out-of-tree) module loaded'],
  ['E', 'unsigned module loaded'],
  ['L', 'soft lockup occurred'],
  ['K', 'kernel live-patched'],
  ['X', 'auxiliary taint (distribution-defined)'],
  ['T', 'built with the struct randomization plugin'],
  ['N', 'in-kernel test run'],
  ['J', 'userspace used a mutating debug operation in fwctl'],
];

export function decodeTaint(value: number): KernelTaintFinding['flags'] {
  const flags: KernelTaintFinding['flags'] = [];
  for (let bit = 0; bit < 32; bit++) {
    if (!(value & (1 << bit))) continue;
    const known = TAINT_FLAGS[bit];
    flags.push({ bit, letter: known?.[0] ?? '?', meaning: known?.[1] ?? `taint bit ${bit}` });
  }
  return flags;
}

/** Loaded modules from /proc/modules: name and its taint letters (the last column, e.g. `(OE)`). */
export function parseProcModules(text: string): Array<{ name: string; taint: string }> {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.trim().split(/\s+/);
      const last = f[f.length - 1] ?? '';
      return { name: f[0]!, taint: /^\([A-Z]+\)$/.test(last) ? last.slice(1, -1) : '' };
    });
}

/** modules.dep: `kernel/drivers/x/foo.ko.xz: deps…` → module name (`-` read as `_`, as the kernel does) → path. */
export function parseModulesDep(text: string, base: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const rel = line.split(':')[0]?.trim();
    if (!rel) continue;
    const name = rel
      .split('/')
      .pop()!
      .replace(/\.ko(\.(xz|gz|zst))?$/, '')
      .replace(/-/g, '_');
    m.set(name, rel.startsWith('/') ? rel : `${base}/${rel}`);
  }
  return m;
}

/** Loaded kernel modules (their .ko files, hashed as objects) and the kernel's taint, decoded. */
export function* linuxKernel(fs: RootFs): Generator<Finding> {
  const tainted = Number((fs.readText('/proc/sys/kernel/tainted') ?? '').trim());
  const modulesText = fs.readText('/proc/modules');
  const taintedModules: KernelTaintFinding['taintedModules'] = [];
  for (const name of fs.list('/sys/module')) {
    const t = (fs.readText(`/sys/module/${name}/taint`) ?? '').trim();
    if (t) taintedModules.push({ name, taint: t });
  }
  if (modulesText === undefined) {
    yield {
      kind: 'unavailable',
      area: 'kernel-module',
      what: '/proc/modules',
      reason: 'not present (no loadable-module support, or a container)',
    };
  } else {
    const release = (fs.readText('/proc/sys/kernel/osrelease') ?? '').trim();
    const base = `/lib/modules/${release}`;
    const dep = fs.readText(`${base}/modules.dep`);
    const files = dep === undefined ? undefined : parseModulesDep(dep, base);
    if (!files)
      yield {
        kind: 'unavailable',
        area: 'kernel-module',
        what: `${base}/modules.dep`,
        reason: 'not readable: loaded modules cannot be tied to their files',
      };
    for (const mod of parseProcModules(modulesText)) {
      if (mod.taint && !taintedModules.some((t) => t.name === mod.name)) taintedModules.push(mod);
      const path = files?.get(mod.name.replace(/-/g, '_'));
      if (!path) continue;
      const f = fileAt(fs, path, 'kernel-module', `loaded module ${mod.name}${mod.taint ? ` (taint ${mod.taint})` : ''}`);
      if (f) yield f;
    }
  }
  if (Number.isFinite(tainted)) yield { kind: 'kernel-taint', tainted, flags: decodeTaint(tainted), taintedModules };
  else yield { kind: 'unavailable', area: 'kernel-module', what: '/proc/sys/kernel/tainted', reason: 'not readable' };
}
