import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Finding } from './collector.ts';

const AREA = 'process';

export interface WindowsProcess {
  pid: number;
  name: string;
  /** The image's path, when the listing gives it (wmic does, tasklist does not). */
  path?: string;
}

/** One CSV line (tasklist quotes every field; `""` is a quote). */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') ((v += '"'), (i += 2));
        else if (line[i] === '"') break;
        else v += line[i++];
      }
      out.push(v);
      i = line.indexOf(',', i);
    } else {
      const end = line.indexOf(',', i);
      out.push(line.slice(i, end < 0 ? undefined : end));
      i = end;
    }
    if (i < 0) break;
    i++;
  }
  return out;
}

/** `tasklist /fo csv /nh`: "Image Name","PID",… per line. */
export function parseTasklistCsv(text: string): WindowsProcess[] {
  const out: WindowsProcess[] = [];
  for (const line of text.split(/\r?\n/)) {
    const [name, pid] = csvFields(line.trim());
    if (name && pid && /^\d+$/.test(pid)) out.push({ pid: Number(pid), name });
  }
  return out;
}

/**
 * `wmic process get ExecutablePath,Name,ProcessId /format:csv`: a `Node,ExecutablePath,Name,ProcessId` header, then
 * unquoted rows (a path may hold a comma, so it is what lies between the first field and the last two).
 */
export function parseWmicCsv(text: string): WindowsProcess[] {
  const out: WindowsProcess[] = [];
  for (const line of text.split(/\r?\n/)) {
    const f = line.trim().split(',');
    if (f.length < 4 || !/^\d+$/.test(f[f.length - 1]!)) continue;
    const path = f.slice(1, -2).join(',');
    out.push({ pid: Number(f[f.length - 1]), name: f[f.length - 2]!, ...(path ? { path } : {}) });
  }
  return out;
}

/** wmic writes UTF-16 (with a BOM) to a file or pipe; tasklist the console's code page. */
export function decodeOutput(buf: Buffer): string {
  if (buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf.length > 1 && buf[1] === 0) return buf.toString('utf16le');
  return buf.toString('utf8');
}

function run(cmd: string, args: string[]): Promise<{ text: string } | { reason: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { windowsHide: true, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const text = decodeOutput(stdout);
      if (!err) return resolve({ text });
      const said = `${decodeOutput(stderr)}${text}`.trim().split(/\r?\n/)[0];
      resolve({ reason: `${cmd}: ${said || (err as NodeJS.ErrnoException).code || err.message}` });
    });
  });
}

/**
 * The running processes and, where the listing names it, their images: `wmic` first (it gives the image path; it is
 * absent from recent Windows 11), then `tasklist` (names only). A listing that does not even show this process is not
 * a listing: the area is then reported unavailable with what each tool said, never silently empty.
 */
export async function listWindowsProcesses(): Promise<{ processes: WindowsProcess[]; imagesFrom?: string } | { reason: string }> {
  const tried: string[] = [];
  const wmic = await run('wmic', ['process', 'get', 'ExecutablePath,Name,ProcessId', '/format:csv']);
  if ('text' in wmic) {
    const ps = parseWmicCsv(wmic.text);
    if (ps.some((p) => p.pid === process.pid)) return { processes: ps, imagesFrom: 'wmic' };
    tried.push(`wmic listed ${ps.length} process(es), not this one`);
  } else tried.push(wmic.reason);
  const tl = await run('tasklist', ['/fo', 'csv', '/nh']);
  if ('text' in tl) {
    const ps = parseTasklistCsv(tl.text);
    if (ps.some((p) => p.pid === process.pid)) return { processes: ps };
    tried.push(`tasklist listed ${ps.length} process(es), not this one`);
  } else tried.push(tl.reason);
  return { reason: tried.join('; ') };
}

/** Process findings: an observation per process, its image (a file finding) when the path is known and readable. */
export async function* windowsProcesses(list = listWindowsProcesses): AsyncGenerator<Finding> {
  const r = await list();
  if ('reason' in r) {
    yield { kind: 'unavailable', area: AREA, what: 'running processes', reason: `no process listing works here (${r.reason})` };
    return;
  }
  if (!r.imagesFrom)
    yield { kind: 'unavailable', area: AREA, what: 'process images', reason: 'tasklist names processes but not their image files' };
  let noImage = 0;
  for (const p of r.processes) {
    const origin = `pid ${p.pid} (${p.name})`;
    let st;
    try {
      st = p.path ? statSync(p.path) : undefined;
    } catch {
      st = undefined;
    }
    const file = p.path && st?.isFile() ? ({ kind: 'file', area: AREA, path: p.path, stat: st, origin, pid: p.pid } as const) : undefined;
    if (r.imagesFrom && !file) noImage++;
    yield {
      kind: 'observation',
      area: AREA,
      path: p.path ?? p.name,
      origin,
      pid: p.pid,
      observation: { document: 'ProcessItem', pid: p.pid, name: p.name, ...(p.path ? { path: p.path } : {}) },
      ...(file ? { executable: file } : {}),
    };
    if (file) yield file;
  }
  if (noImage)
    yield { kind: 'unavailable', area: AREA, what: `${noImage} process image(s)`, reason: 'path not given or not readable as this user' };
}
