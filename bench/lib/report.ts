import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, release, totalmem } from 'node:os';

/** Where every benchmark writes its JSON result (bench/out/<name>.json), beside the table it prints. */
export const OUT_DIR = join(import.meta.dirname, '..', 'out');

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memBytes: totalmem(),
    kernel: release(),
  };
}

export function writeResult(name: string, result: Record<string, unknown>): string {
  mkdirSync(OUT_DIR, { recursive: true });
  const file = join(OUT_DIR, `${name}.json`);
  writeFileSync(file, JSON.stringify({ bench: name, at: new Date().toISOString(), machine: machine(), ...result }, null, 2) + '\n');
  return file;
}

/** A plain fixed-width table (first column left-aligned, the rest right-aligned), ready to paste into the README. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    '| ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(cells[0]!), sep, ...cells.slice(1).map(line)].join('\n');
}

export const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '–');
export const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
