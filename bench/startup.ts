/**
 * How fast the commands users and the browser run start, and what the idle agent holds, each beside a bare Node
 * measured in the same run (issue 15):
 *
 *   npx node bench/startup.ts [--n 30] [--settle-ms 10000]
 *
 * - start-up: wall time of `sandgate --version`, `sandgate policy show` and `sandgate status` (no agent running: it
 *   says so and exits 2) through the real bin shim, against `node -e 0` on the same Node. Runs are interleaved (one
 *   of each per round) so the machine's drift hits every row alike; the median is compared. One more row runs
 *   `status` from the TypeScript entry (native-host/src/bin/sandgate.ts), as every command ran before the bundle.
 * - native host: from spawning `sandgate-native-host` (as the browser does, with the extension's origin) until its
 *   answer to the first `hello` is read, with the agent service already running; against `node -e 0`.
 * - idle agent: resident memory (VmRSS) of `sandgate serve` with nothing queued, `--settle-ms` after it said it
 *   listens, against a bare Node process (`node -e setInterval(…)`) sampled the same way, and an agent started from
 *   the TypeScript entry beside it.
 *
 * Every command runs on this process's Node (run it with the pinned one: `npx node` or `npm run bench`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHROMIUM_EXTENSION_ID, type PolicyInput } from '@sandgate/shared';
import { startLab } from '#lab/lab-server.ts';
import { FrameDecoder, encodeFrame } from '#native-host/wire/framing.ts';
import { freshCompiled } from '../shared/bin/source-stamp.mjs';
import { procMemory } from './lib/proc-memory.ts';
import { mib, table, writeResult } from './lib/report.ts';
import { median, summarize, type Summary } from './lib/stats.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('--n', 30);
const SETTLE_MS = arg('--settle-ms', 10_000);

const ROOT = join(import.meta.dirname, '..');
const SANDGATE = join(ROOT, 'native-host/bin/sandgate.mjs');
/** The TypeScript entry, run as every command ran before the install-time bundle: the same run's "before". */
const SANDGATE_TS = join(ROOT, 'native-host/src/bin/sandgate.ts');
const NATIVE_HOST = join(ROOT, 'native-host/bin/sandgate-native-host.mjs');
const ORIGIN = `chrome-extension://${CHROMIUM_EXTENSION_ID}/`;

// The bin shims fall back to the TypeScript entries when the bundle is older than the sources, silently (a user must
// never be stopped by that); a benchmark of start-up would then measure the fallback under the bundle's name.
const DIST = new URL('../native-host/dist/', import.meta.url);
for (const bundle of ['bin/sandgate.js', 'bin/native-host.js']) {
  if (!freshCompiled(new URL(bundle, DIST), new URL('stamp.json', DIST))) {
    process.stderr.write(`bench/startup.ts: native-host/dist/${bundle} is missing or older than the sources; run \`npm run build:cli\` first\n`);
    process.exit(1);
  }
}

const root = mkdtempSync(join(tmpdir(), 'sandgate-bench-startup-'));
const home = join(root, 'home');
const idleHome = join(root, 'idle-home');
const lab = await startLab({ port: 0, host: '127.0.0.1', dataDir: join(root, 'lab') });
const policy: PolicyInput = { sandbox: { servers: [{ url: lab.url, token: lab.token }], serverCertificate: lab.certPath } };
const policyPath = join(root, 'policy.json');
writeFileSync(policyPath, JSON.stringify(policy, null, 2), { mode: 0o600 });
const env = (h: string) => ({ ...process.env, SANDGATE_HOME: h, SANDGATE_POLICY: policyPath });

/** Wall milliseconds of one run of `args` on this Node, and its exit status. */
function timeRun(args: string[], h: string): { ms: number; code: number | null } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env: env(h), stdio: ['ignore', 'pipe', 'pipe'] });
  return { ms: performance.now() - t0, code: r.status };
}

/** Starts `sandgate serve` on `h` and resolves once it says it listens. */
async function startServe(h: string, entry = SANDGATE) {
  const child = spawn(process.execPath, [entry, 'serve'], { env: env(h), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: string) => {
      stderr += d;
      if (stderr.includes('agent service listening')) resolve();
    });
    child.on('close', () => reject(new Error(`sandgate serve exited early: ${stderr}`)));
  });
  return child;
}

const stop = async (child: ReturnType<typeof spawn>) => {
  const closed = new Promise((r) => child.on('close', r));
  child.kill('SIGTERM');
  await closed;
};

/** Milliseconds from spawning the native host until its answer to `hello` (not a pushed event) has been read. */
async function timeHostHello(h: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [NATIVE_HOST, ORIGIN], { env: env(h), stdio: ['pipe', 'pipe', 'ignore'] });
  const decoder = new FrameDecoder(1024 * 1024);
  const answered = new Promise<unknown>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      // the agent may push its status first; the answer is the frame that carries the request's id
      for (const f of decoder.push(chunk)) {
        if (!f.ok) resolve(f.error);
        else if (typeof f.value === 'object' && f.value !== null && 'id' in f.value && f.value.id === '1') resolve(f.value);
      }
    });
    child.on('close', () => reject(new Error('the native host exited before answering hello')));
  });
  child.stdin!.write(
    encodeFrame(
      { v: 1, kind: 'request', id: '1', type: 'hello', payload: { minV: 1, capabilities: ['verdict-push'], client: 'bench' } },
      1024 * 1024,
    ),
  );
  const frame = await answered;
  const ms = performance.now() - t0;
  if (!JSON.stringify(frame).includes('appVersion')) throw new Error(`unexpected answer to hello: ${JSON.stringify(frame)}`);
  const closed = new Promise((r) => child.on('close', r));
  child.stdin!.end();
  await closed;
  return ms;
}

interface Row {
  name: string;
  samples: number[];
  exit?: number | null;
}

try {
  // --- start-up of the CLI, interleaved with the baseline ---------------------------------------------------------
  const cli: Row[] = [
    { name: 'node -e 0 (baseline)', samples: [] },
    { name: 'sandgate --version', samples: [] },
    { name: 'sandgate policy show', samples: [] },
    { name: 'sandgate status (no agent running)', samples: [] },
    { name: 'sandgate status, from the TypeScript sources', samples: [] },
  ];
  const argsOf = [
    ['-e', '0'],
    [SANDGATE, '--version'],
    [SANDGATE, 'policy', 'show'],
    [SANDGATE, 'status'],
    [SANDGATE_TS, 'status'],
  ];
  for (let round = -1; round < N; round++) {
    for (let i = 0; i < cli.length; i++) {
      const r = timeRun(argsOf[i]!, home);
      // round -1 warms the page cache (and Node's compile cache) for every row alike
      if (round >= 0) cli[i]!.samples.push(r.ms);
      cli[i]!.exit = r.code;
    }
  }

  // --- the native host answering its first message, agent running ---------------------------------------------------
  const agent = await startServe(home);
  const host: Row[] = [
    { name: 'node -e 0 (baseline)', samples: [] },
    { name: 'sandgate-native-host: spawn → answer to hello', samples: [] },
  ];
  try {
    for (let round = -1; round < N; round++) {
      const base = timeRun(['-e', '0'], home).ms;
      const hello = await timeHostHello(home);
      if (round < 0) continue;
      host[0]!.samples.push(base);
      host[1]!.samples.push(hello);
    }
  } finally {
    await stop(agent);
  }

  // --- idle memory ----------------------------------------------------------------------------------------------------
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  const idle = await startServe(idleHome);
  const idleTs = await startServe(join(root, 'idle-home-ts'), SANDGATE_TS);
  await sleep(SETTLE_MS);
  const bareMem = procMemory(bare.pid!);
  const idleMem = procMemory(idle.pid!);
  const idleTsMem = procMemory(idleTs.pid!);
  bare.kill('SIGTERM');
  await stop(idle);
  await stop(idleTs);

  // --- report -------------------------------------------------------------------------------------------------------
  const ratio = (rows: Row[], r: Row) => median(r.samples) / median(rows[0]!.samples);
  const timeRows = (rows: Row[]) =>
    rows.map((r, i) => {
      const s = summarize(r.samples);
      return [
        r.name,
        s.n,
        s.median.toFixed(0),
        s.p95.toFixed(0),
        i === 0 ? '1.00' : ratio(rows, r).toFixed(2),
        r.exit === undefined ? '' : String(r.exit),
      ];
    });
  const header = ['start-up (ms)', 'n', 'median', 'p95', '× baseline', 'exit'];
  process.stdout.write(table(header, timeRows(cli)) + '\n\n');
  process.stdout.write(
    table(
      header.slice(0, 5),
      timeRows(host).map((r) => r.slice(0, 5)),
    ) + '\n\n',
  );
  process.stdout.write(
    table(
      ['idle resident memory', 'VmRSS MiB', 'VmHWM MiB', '× baseline'],
      [
        ['bare Node process (baseline)', mib(bareMem.rss), mib(bareMem.hwm), '1.00'],
        ['sandgate serve, idle, nothing queued', mib(idleMem.rss), mib(idleMem.hwm), (idleMem.rss / bareMem.rss).toFixed(2)],
        ['the same, from the TypeScript sources', mib(idleTsMem.rss), mib(idleTsMem.hwm), (idleTsMem.rss / bareMem.rss).toFixed(2)],
      ],
    ) + '\n',
  );
  const summary = (rows: Row[]): Record<string, Summary & { ratio: number; exit?: number | null }> =>
    Object.fromEntries(
      rows.map((r) => [r.name, { ...summarize(r.samples), ratio: ratio(rows, r), ...(r.exit === undefined ? {} : { exit: r.exit }) }]),
    );
  const file = writeResult('startup', {
    unit: { time: 'ms', memory: 'bytes' },
    n: N,
    settleMs: SETTLE_MS,
    cli: summary(cli),
    nativeHost: summary(host),
    idleMemory: {
      baseline: bareMem,
      agent: { ...idleMem, ratio: idleMem.rss / bareMem.rss },
      agentFromTypeScript: { ...idleTsMem, ratio: idleTsMem.rss / bareMem.rss },
    },
  });
  process.stdout.write(`\nwrote ${file}\n`);
} finally {
  await lab.close();
  rmSync(root, { recursive: true, force: true });
}
