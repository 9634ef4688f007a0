/**
 * STIX 2.1, YARA and OpenIOC in one IOC scan (issue 18), on the tree of bench/ioc-scan.ts (100,000 files, 2 GiB):
 *
 *   npx node bench/ioc-formats.ts [--files 100000] [--gib 2] [--decoys 1000] [--runs 3] [--tree DIR] [--only c]
 *
 *  (a) YARA rules: the ReversingLabs rules of ../shared/data/yara (274 files, 1,204 rules), run by `sandgate ioc
 *      scan` (YARA-X) against Debian's `yara -r` with the same rules, both finding a sample planted from one rule.
 *  (b) hashes: 1,001 SHA-256 indicators (1,000 random, one file of the tree) as one STIX 2.1 bundle against the same
 *      hashes as 1,001 OpenIOC files; every file must be hashed. Runs alternate; medians of --runs each.
 *  (c) all three formats in one plan (the OpenIOC files, the STIX bundle and the YARA rules) against the sum of each
 *      alone (the OpenIOC and STIX medians of (b), YARA of (a)); also the one plan with hashing threads started
 *      whatever the machine's load (what the product does on a machine with a core to spare: the threads read and
 *      hash, the scan's thread runs YARA on the bytes they send back).
 * `--only c`: the rows (c) needs and no `yara -r` baseline ((a) is YARA-X alone, (b) as usual).
 * Ours is the product path: the files' bytes compiled by compileIocFiles inside the timed run (as `sandgate ioc scan`
 * does), the scanner's walk and reader, CPU budget off (`--cpu-budget 100`). Page cache warm for everyone.
 * Rows whose baseline or rules are missing (no `yara` installed, no ../shared/data) say so and are skipped by name.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitYaraRules } from '#native-host/ioc/yara-split.ts';
import { compileIocFiles, type IocFileInput } from '#native-host/ioc/load-ioc-files.ts';
import { runScan } from '#native-host/scan/run-scan.ts';
import { sharedData } from '#test-helpers/shared-data.ts';
import { plantRule } from '#test-helpers/yara-plant.ts';
import { defaultTreeDir, loadOrGenerateTree } from './lib/ioc-tree.ts';
import { table, writeResult } from './lib/report.ts';
import { median } from './lib/stats.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const FILES = arg('--files', 100_000);
const GIB = arg('--gib', 2);
const DECOYS = arg('--decoys', 1000);
const RUNS = arg('--runs', 3);
const ONLY_C = process.argv.includes('--only') && process.argv[process.argv.indexOf('--only') + 1] === 'c';
const TREE = process.argv.includes('--tree') ? process.argv[process.argv.indexOf('--tree') + 1]! : defaultTreeDir(FILES, GIB);
const MiB = 1024 * 1024;

const manifest = loadOrGenerateTree(TREE, FILES, GIB);
const work = mkdtempSync(join(tmpdir(), 'sg-bench-formats-'));
const hashes = [...Array.from({ length: DECOYS }, () => randomBytes(32).toString('hex')), manifest.target.sha256];

const openiocFiles: IocFileInput[] = hashes.map((h, i) => ({
  file: `bench-${i}.ioc`,
  bytes: Buffer.from(
    `<?xml version="1.0"?><OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="bench-${i}"><metadata><short_description>bench ${i}</short_description></metadata><criteria><Indicator operator="OR" id="o${i}"><IndicatorItem id="h${i}" condition="is"><Context document="FileItem" search="FileItem/Sha256sum" type="mir"/><Content type="string">${h}</Content></IndicatorItem></Indicator></criteria></OpenIOC>`,
  ),
}));
const uuid = (i: number) => `a1a1a1a1-0000-4000-8000-${String(i).padStart(12, '0')}`;
const stixFile: IocFileInput = {
  file: 'bench.json',
  bytes: Buffer.from(
    JSON.stringify({
      type: 'bundle',
      id: `bundle--${uuid(999_999)}`,
      objects: hashes.map((h, i) => ({
        type: 'indicator',
        spec_version: '2.1',
        id: `indicator--${uuid(i)}`,
        created: '2026-01-01T00:00:00Z',
        modified: '2026-01-01T00:00:00Z',
        name: `bench ${i}`,
        pattern: `[file:hashes.'SHA-256' = '${h}']`,
        pattern_type: 'stix',
        valid_from: '2026-01-01T00:00:00Z',
      })),
    }),
  ),
};

// The YARA rules, read where they lie; one sample planted from the first rule the planter can satisfy, in a folder
// added to the tree for this run only.
const rl = sharedData('yara/reversinglabs');
const yaraFiles: IocFileInput[] = rl.exists
  ? (readdirSync(rl.dir, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.yara'))
      .sort()
      .map((f) => ({ file: f, bytes: readFileSync(join(rl.dir, f)) }))
  : [];
const plantedDir = join(TREE, 'zz-planted-ioc-formats');
let planted: { path: string; rule: string } | undefined;
for (const f of yaraFiles) {
  for (const r of splitYaraRules(Buffer.from(f.bytes).toString('utf8')).rules) {
    const p = plantRule(r.text);
    if ('bytes' in p && !planted) {
      mkdirSync(plantedDir, { recursive: true });
      planted = { path: join(plantedDir, `${p.rule}.bin`), rule: p.rule };
      writeFileSync(planted.path, p.bytes);
    }
  }
}

const yaraVersion = spawnSync('yara', ['--version'], { encoding: 'utf8' });
const haveYara = !yaraVersion.error && yaraVersion.status === 0;

interface Run {
  seconds: number;
  /** CPU time (user + system, every thread): what the work costs, whatever else runs on the machine. */
  cpu: number;
  found: boolean;
  note?: string;
}

async function ours(
  inputs: IocFileInput[],
  expect: (m: { path: string; iocId: string; format?: string | undefined }[]) => boolean,
  threadsWhateverTheLoad = false,
): Promise<Run> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const plan = compileIocFiles(inputs);
  const out = await runScan({
    kind: 'ioc',
    scope: [TREE],
    indicators: [{ set: plan.set, source: 'ioc' }],
    maxFileBytes: 1024 * MiB,
    cpuBudgetPercent: 100,
    // As `sandgate ioc scan --cpu-budget 100` runs it (the CLI sets no reads-in-flight bound: 4 on the scan's thread,
    // 256 once hashing threads run). Threads forced on: no CPU check, never stopped. This row used to pass
    // `concurrency: 4`, which held the threads to 4 reads in flight, so they never paid and the check stopped them.
    ...(threadsWhateverTheLoad ? { hashThreadsMinCores: 0 } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const s = out.summary;
  return {
    seconds,
    cpu: (c.user + c.system) / 1e6,
    found: expect(out.matches),
    note: `${s.filesSeen} files, ${s.hashed} hashed, ${(s.bytesRead / MiB).toFixed(0)} MiB read`,
  };
}

const hashFound = (ms: { path: string }[]) => ms.some((m) => m.path === manifest.target.path);
const ruleFound = (ms: { path: string; iocId: string }[]) => ms.some((m) => m.path === planted?.path && m.iocId === planted.rule);

interface Row {
  scenario: string;
  contender: string;
  seconds: number;
  cpu: number;
  ratio: string;
  cpuRatio: string;
  found: string;
  note: string;
}
const rows: Row[] = [];
const aims: string[] = [];
const row = (scenario: string, contender: string, r: Run, base?: Run) =>
  rows.push({
    scenario,
    contender,
    seconds: r.seconds,
    cpu: r.cpu,
    ratio: base ? (r.seconds / base.seconds).toFixed(2) : '–',
    cpuRatio: base ? (r.cpu / base.cpu).toFixed(2) : '–',
    found: r.found ? 'yes' : 'NO',
    note: r.note ?? '',
  });

try {
  process.stdout.write('warming the page cache (untimed)…\n');
  spawnSync('sh', ['-c', `find "${TREE}" -type f -print0 | xargs -0 cat > /dev/null`]);

  // (a) YARA
  let yaraAlone: Run | undefined;
  if (!planted) {
    process.stdout.write(`(a) skipped: the ReversingLabs rules are not here (${rl.skipReason})\n`);
  } else {
    yaraAlone = await ours(yaraFiles, ruleFound);
    let base: Run | undefined;
    if (haveYara && !ONLY_C) {
      const all = join(work, 'reversinglabs.yar');
      // One namespace, as ours compiles them together; rule names are unique across the 274 files.
      writeFileSync(all, yaraFiles.map((f) => Buffer.from(f.bytes).toString('utf8')).join('\n'));
      const t0 = performance.now();
      const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', 'yara', '-r', all, TREE], { encoding: 'utf8', maxBuffer: 1024 * MiB });
      const seconds = (performance.now() - t0) / 1000;
      const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
      base = {
        seconds,
        cpu: cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN,
        found: r.status === 0 && r.stdout.split('\n').includes(`${planted.rule} ${planted.path}`),
        note: r.status === 0 ? 'default threads' : `failed: ${r.stderr.slice(0, 200)}`,
      };
    } else if (!ONLY_C) process.stdout.write('(a) yara -r skipped: yara is not installed here (apt-get install -y yara)\n');
    const scenario = '(a) 1,204 YARA rules';
    if (base) row(scenario, `yara -r (${yaraVersion.stdout.trim()}), baseline`, base, base);
    row(scenario, 'sandgate ioc scan (YARA-X)', yaraAlone, base);
    if (base) {
      const x = base.seconds / yaraAlone.seconds;
      aims.push(
        `(a) sandgate is ${x.toFixed(2)}x as fast as yara -r with the same rules (aim: faster): ${x > 1 ? 'met' : 'NOT met'}; CPU time ${(yaraAlone.cpu / base.cpu).toFixed(2)}x yara's`,
      );
    }
  }

  // (b) the same hashes as OpenIOC and as STIX, alternating
  const openiocRuns: Run[] = [];
  const stixRuns: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Each goes first every other round, so neither always inherits the other's garbage.
    const pair = [() => ours(openiocFiles, hashFound), () => ours([stixFile], hashFound)] as const;
    if (i % 2 === 0) {
      openiocRuns.push(await pair[0]());
      stixRuns.push(await pair[1]());
    } else {
      stixRuns.push(await pair[1]());
      openiocRuns.push(await pair[0]());
    }
  }
  const med = (rs: Run[]): Run => ({
    seconds: median(rs.map((r) => r.seconds)),
    cpu: median(rs.map((r) => r.cpu)),
    found: rs.every((r) => r.found),
    note: `median of ${rs.length}: ${rs.map((r) => r.seconds.toFixed(2)).join(', ')}; ${rs[0]!.note}`,
  });
  const openioc = med(openiocRuns);
  const stix = med(stixRuns);
  row('(b) 1,001 SHA-256', 'as 1,001 OpenIOC files, baseline', openioc, openioc);
  row('(b) 1,001 SHA-256', 'as one STIX 2.1 bundle', stix, openioc);
  const rb = stix.seconds / openioc.seconds;
  aims.push(
    `(b) STIX takes ${rb.toFixed(2)}x the time of OpenIOC for the same hashes (aim: 0.90–1.10): ${Math.abs(rb - 1) <= 0.1 ? 'met' : 'NOT met'}`,
  );

  // (c) everything in one plan
  if (yaraAlone) {
    // YARA alone again, alternating with the one plan: its first run in (a) also paid for warming up.
    const mixedRuns: Run[] = [];
    const threadedRuns: Run[] = [];
    const yaraRuns: Run[] = [yaraAlone];
    const mixedPlan = (threaded = false) =>
      ours(
        [...openiocFiles, stixFile, ...yaraFiles],
        (ms) => {
          const at = ms.filter((m) => m.path === manifest.target.path).map((m) => m.format);
          return at.includes('openioc') && at.includes('stix') && ruleFound(ms);
        },
        threaded,
      );
    for (let i = 0; i < RUNS; i++) {
      if (i % 2 === 0) {
        mixedRuns.push(await mixedPlan());
        threadedRuns.push(await mixedPlan(true));
        yaraRuns.push(await ours(yaraFiles, ruleFound));
      } else {
        yaraRuns.push(await ours(yaraFiles, ruleFound));
        threadedRuns.push(await mixedPlan(true));
        mixedRuns.push(await mixedPlan());
      }
    }
    const mixed = med(mixedRuns);
    const threaded = med(threadedRuns);
    const yaraMed = med(yaraRuns);
    row('(c) all three', 'YARA alone', yaraMed);
    const alone = [openioc, stix, yaraMed];
    const sum: Run = { seconds: alone.reduce((a, r) => a + r.seconds, 0), cpu: alone.reduce((a, r) => a + r.cpu, 0), found: true };
    const slowest = alone.reduce((a, r) => (r.seconds > a.seconds ? r : a));
    const noFound = (r: Row) => ({ ...r, found: '' });
    row('(c) all three', 'sum of each alone, baseline', sum, sum);
    rows.push(noFound(rows.pop()!));
    row('(c) all three', 'slowest alone', slowest, sum);
    rows.push(noFound(rows.pop()!));
    row('(c) all three', 'one plan: OpenIOC + STIX + YARA', mixed, sum);
    row('(c) all three', 'one plan, hashing threads whatever the load', threaded, sum);
    for (const [what, r] of [
      ['one plan', mixed],
      ['one plan with hashing threads', threaded],
    ] as const)
      aims.push(
        `(c) ${what} takes ${(r.seconds / sum.seconds).toFixed(2)}x the sum of each alone (aim: below 1) and ${(r.seconds / slowest.seconds).toFixed(2)}x the slowest alone (aim: close to 1): ${r.seconds < sum.seconds ? 'below the sum' : 'NOT below the sum'}`,
      );
  } else process.stdout.write('(c) skipped: needs the YARA rules of (a)\n');

  process.stdout.write(
    '\n' +
      table(
        ['scenario', 'contender', 'seconds', '× baseline', 'CPU s', 'CPU × baseline', 'found planted', 'note'],
        rows.map((r) => [r.scenario, r.contender, r.seconds.toFixed(2), r.ratio, r.cpu.toFixed(2), r.cpuRatio, r.found, r.note]),
      ) +
      '\n' +
      aims.join('\n') +
      '\n',
  );
  process.stdout.write(`tree: ${manifest.files} files, ${(manifest.bytes / 1024 / MiB).toFixed(2)} GiB (+1 planted sample)\n`);
  const file = writeResult('ioc-formats', {
    files: manifest.files,
    bytes: manifest.bytes,
    yara: haveYara ? yaraVersion.stdout.trim() : null,
    rows,
    aims,
  });
  process.stdout.write(`result: ${file}\n`);
  if (rows.some((r) => r.found === 'NO')) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(plantedDir, { recursive: true, force: true });
}
