import { stripExecPrefixes } from '../critical-areas/linux-autostart.ts';

/** What a service unit says about itself, after its drop-ins: the parts a `ServiceItem` needs. */
export interface ServiceUnitSettings {
  description?: string;
  /** `ExecStart=` lines in force (prefixes removed); an empty `ExecStart=` in a drop-in clears the earlier ones. */
  execStart: string[];
  /** Whether an `[Install]` section says how to enable it; without one a unit is `static`. */
  installable: boolean;
}

const INSTALL_KEYS = new Set(['WantedBy', 'RequiredBy', 'UpheldBy', 'Alias', 'Also', 'DefaultInstance']);

/**
 * Reads a unit file and its drop-ins in order (systemd.unit(5) syntax: `[Section]`, `Key=value`, `#`/`;` comments,
 * `\` continuations). Only the keys above are interpreted. Specifiers naming the unit, its instance and the home are
 * expanded (`%n %N %p %P %i %I %h %%`); others stay as written.
 */
export function serviceUnitSettings(texts: readonly string[], unit: { name: string; home: string }): ServiceUnitSettings {
  const out: ServiceUnitSettings = { execStart: [], installable: false };
  const base = unit.name.replace(/\.service$/, '');
  const at = base.indexOf('@');
  const spec: Record<string, string> = {
    n: unit.name,
    N: base,
    p: at >= 0 ? base.slice(0, at) : base,
    i: at >= 0 ? base.slice(at + 1) : '',
    h: unit.home,
    '%': '%',
  };
  spec.P = spec.p!;
  spec.I = spec.i!;
  for (const text of texts) {
    let section = '';
    for (const raw of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
      const line = raw.trim();
      if (!line || line.startsWith('#') || line.startsWith(';')) continue;
      const sec = /^\[(.+)\]$/.exec(line);
      if (sec) {
        section = sec[1]!;
        continue;
      }
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line
        .slice(eq + 1)
        .trim()
        .replace(/%([nNpPiIh%])/g, (_, c: string) => spec[c]!);
      if (section === 'Unit' && key === 'Description') out.description = value;
      else if (section === 'Service' && key === 'ExecStart') out.execStart = value ? [...out.execStart, stripExecPrefixes(value)] : [];
      else if (section === 'Install' && INSTALL_KEYS.has(key) && value) out.installable = true;
    }
  }
  return out;
}
