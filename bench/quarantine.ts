/**
 * Quarantine and restore throughput for a large object, beside a plain copy of the same file in the same run.
 *
 *   npx node bench/quarantine.ts [--mib 1024] [--runs 3]
 *
 * "quarantine" is the whole action: open without following links, hash and encrypt (AES-256-GCM) into the store in one
 * pass, fsync, read the stored copy back to verify it, check the original is still the hashed inode, delete it.
 * "restore" decrypts and verifies into a fresh file, fsyncs and publishes it. The baselines are `fs.copyFile` (what a
 * plain move to another disk costs) and a copy followed by fsync (the same durability we pay for), on the same
 * filesystem, in the same run. Each figure is the median of --runs runs; the page cache is warm for every contender.
 * "peak RSS" is the process's peak resident set during that operation alone (the peak is reset before each one through
 * /proc/self/clear_refs, Linux only; worker threads count, they are in the process), and "above start" that peak less
 * the resident set when the operation began; neither may grow with --mib.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, fsyncSync, mkdtempSync, openSync, closeSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';
import { writeRandomFile } from './lib/random-file.ts';
import { table, writeResult } from './lib/report.ts';
import { median } from './lib/stats.ts';
import { procMemory } from './lib/proc-memory.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const MiB = 1024 * 1024;
const size = arg('--mib', 1024) * MiB;
const runs = arg('--runs', 3);

const root = mkdtempSync(join(tmpdir(), 'sg-bench-q-'));
const home = join(root, 'home');
// The agent opens its quarantine once and keeps it; so does the benchmark.
const store = QuarantineStore.open(home);
const src = join(root, 'sample.bin');

const peaks: Record<string, number[]> = {};
const growths: Record<string, number[]> = {};
let startRss = 0;
/** Resets the process's peak RSS (VmHWM) so the next reading covers one operation only. */
function resetPeak(): void {
  writeFileSync('/proc/self/clear_refs', '5');
  startRss = procMemory(process.pid).rss;
}
function notePeak(name: string): void {
  const { hwm } = procMemory(process.pid);
  (peaks[name] ??= []).push(hwm);
  (growths[name] ??= []).push(hwm - startRss);
}
function timed<T>(name: string, fn: () => T): [number, T] {
  resetPeak();
  const t = performance.now();
  const v = fn();
  const s = (performance.now() - t) / 1000;
  notePeak(name);
  return [s, v];
}
async function timedAsync<T>(name: string, fn: () => Promise<T>): Promise<[number, T]> {
  resetPeak();
  const t = performance.now();
  const v = await fn();
  const s = (performance.now() - t) / 1000;
  notePeak(name);
  return [s, v];
}
async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

try {
  const loadAtStart = loadavg();
  process.stdout.write(`writing a ${size / MiB} MiB random file… `);
  const sha = await writeRandomFile(src, size);
  process.stdout.write('done\n');
  const copy = join(root, 'copy.bin');
  const results: Record<string, number[]> = { copyFile: [], 'copyFile + fsync': [], quarantine: [], restore: [] };

  for (let i = 0; i < runs; i++) {
    results.copyFile!.push(timed('copyFile', () => copyFileSync(src, copy))[0]);
    rmSync(copy);
    results['copyFile + fsync']!.push(
      timed('copyFile + fsync', () => {
        copyFileSync(src, copy);
        const fd = openSync(copy, 'r');
        fsyncSync(fd);
        closeSync(fd);
      })[0],
    );
    // The sample to quarantine is a fresh copy each run (the action deletes it); the copy is not timed.
    const victim = join(root, `download-${i}.bin`);
    copyFileSync(src, victim);
    const [qs, { id }] = await timedAsync('quarantine', () =>
      store.quarantine({
        path: victim,
        expectedSha256: sha,
        verdict: { level: 'malicious', threat: 'Bench', server: 'https://127.0.0.1:1' },
        provenance: { source: 'cli' },
        jobId: `bench-${i}`,
      }),
    );
    results.quarantine!.push(qs);
    const [rs] = await timedAsync('restore', () => store.restore(id));
    results.restore!.push(rs);
    if (statSync(victim).size !== size) throw new Error('restore produced a file of the wrong size');
    if (i === 0 && (await sha256Of(victim)) !== sha) throw new Error('restore is not byte-identical');
    rmSync(victim);
    rmSync(copy);
  }

  const mbps = (s: number) => size / 1e6 / s;
  const baseline = median(results['copyFile + fsync']!);
  const perRun = (xs: number[]) => {
    const r = xs.map((x, i) => x / results['copyFile + fsync']![i]!);
    return `${median(r).toFixed(2)} (${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)})`;
  };
  const rows = Object.entries(results).map(([name, xs]) => {
    const m = median(xs);
    return [
      name,
      m.toFixed(2),
      mbps(m).toFixed(0),
      (m / baseline).toFixed(2),
      // Each run's own ratio (against the copyFile + fsync of the same run): steadier than medians on a shared machine.
      perRun(xs),
      (Math.max(...peaks[name]!) / MiB).toFixed(0),
      (Math.max(...growths[name]!) / MiB).toFixed(0),
    ];
  });
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`\n${size / MiB} MiB object, median of ${runs} runs, same filesystem (${tmpdir()}), load average ${load(loadAtStart)} at the start, ${load(loadavg())} at the end:\n`);
  console.log(table(['operation', 'seconds', 'MB/s', '× copyFile + fsync', '× per run, median (range)', 'peak RSS MiB', 'above start MiB'], rows));
  const file = writeResult('quarantine', { sizeBytes: size, runs, loadAverage: { start: loadAtStart, end: loadavg() }, seconds: results, peakRssBytes: peaks, peakRssGrowthBytes: growths });
  console.log(`\nraw figures: ${file}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
