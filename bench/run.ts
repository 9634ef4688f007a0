/**
 * `npm run bench`: every benchmark in turn, each in its own process (a benchmark's memory and timers must not colour
 * the next). Arguments after `--` go to each benchmark, e.g. `npm run bench -- --n 20`.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const benches = [
  'startup.ts',
  'download-to-verdict.ts',
  'submit-large.ts',
  'quarantine.ts',
  'queue-throughput.ts',
  'failover.ts',
  'ioc-scan.ts',
  'ioc-formats.ts',
  'console-load.ts',
  'connection-floor.ts',
  'agent-pages.ts',
];
const only = process.argv.slice(2).filter((a) => a.endsWith('.ts'));
const args = process.argv.slice(2).filter((a) => !a.endsWith('.ts'));
let failed = 0;
for (const b of only.length ? only : benches) {
  process.stdout.write(`\n== bench/${b}\n`);
  const r = spawnSync(process.execPath, [join(import.meta.dirname, b), ...args], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
