/**
 * `sandgate submit --wait` of a large object against sandgate-lab on loopback, beside `curl --data-binary` of the same
 * file to the same kind of lab in the same run, plus the agent service's peak memory (VmHWM) for a 64 MiB and a 1 GiB
 * object, to show that memory does not grow with the object's size.
 *
 *   npx node bench/submit-large.ts [--sizes 64,1024] (MiB)
 *
 * Every measurement gets a fresh agent (VmHWM is a lifetime peak) and a fresh lab (so neither side hits the other's
 * verdict cache). Figures: wall time of the whole `sandgate submit --wait` process (CLI start, copy into the queue while
 * hashing, the hash look-up, the upload, the lab's analysis, the verdict); and for curl, the upload alone (until the
 * lab's 202) and upload plus polling the analysis until it is done, which is the like-for-like figure.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentEventSchema, labAnalysisSchema, submitOutputLineSchema, type LabAnalysis } from '@sandgate/shared';
import { startLab } from '#lab/lab-server.ts';
import { startStack } from '../test/helpers/stack.ts';
import { writeRandomFile } from './lib/random-file.ts';
import { procMemory } from './lib/proc-memory.ts';
import { mib, table, writeResult } from './lib/report.ts';

const MiB = 1024 * 1024;
const sizesArg = process.argv.indexOf('--sizes');
const sizesMiB = sizesArg > 0 ? process.argv[sizesArg + 1]!.split(',').map(Number) : [64, 1024];

interface AgentRun {
  seconds: number;
  mbPerSec: number;
  idleHwm: number;
  peakHwm: number;
  level: string | undefined;
  /** From the agent's event log: object accepted (queued, hashed) → submitted to the lab → verdict, in seconds. */
  phases: { acceptedToSubmitted: number; submittedToVerdict: number } | undefined;
}

interface CurlRun {
  /** How curl sent the body (see curlRun). */
  mode: '--data-binary' | '--upload-file';
  uploadSeconds: number;
  uploadMbPerSec: number;
  verdictSeconds: number;
  verdictMbPerSec: number;
  level: string | undefined;
}

const MB = 1e6;

async function agentRun(file: string, size: number): Promise<AgentRun> {
  // The queue limit must hold the object (the default 100 MiB would refuse 1 GiB with OBJECT_TOO_LARGE).
  const stack = await startStack({
    sandbox: { requestQueueMaxBytes: Math.max(100 * MiB, 2 * size), analysisTimeoutMs: 3600_000 },
  });
  try {
    const pid = await stack.agentPid();
    if (pid === undefined) throw new Error('the agent did not report its pid');
    const idleHwm = procMemory(pid).hwm;
    const t0 = performance.now();
    const r = await stack.sandgate(['submit', file, '--wait', '--json'], { timeoutMs: 3600_000 });
    const seconds = (performance.now() - t0) / 1000;
    if (r.code !== 0 && r.code !== 1) throw new Error(`sandgate submit exited ${r.code}: ${r.stderr}`);
    const line = submitOutputLineSchema.parse(JSON.parse(r.stdout.trim().split('\n')[0]!));
    const peakHwm = procMemory(pid).hwm;
    return {
      seconds,
      mbPerSec: size / MB / seconds,
      idleHwm,
      peakHwm,
      level: line.verdict?.level,
      phases: phases(stack.paths.events, file),
    };
  } finally {
    await stack.close();
  }
}

function phases(eventsDir: string, path: string): AgentRun['phases'] {
  const file = join(eventsDir, 'events.jsonl');
  if (!existsSync(file)) return undefined;
  const events = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      const p = agentEventSchema.safeParse(JSON.parse(l));
      return p.success && (p.data.path === path || p.data.type === 'verdict' || p.data.type === 'object-submitted') ? [p.data] : [];
    });
  const at = (type: string): number | undefined => {
    const e = events.find((x) => x.type === type);
    return e ? Date.parse(e.time) : undefined;
  };
  const [a, s, v] = [at('object-accepted'), at('object-submitted'), at('verdict')];
  if (a === undefined || s === undefined || v === undefined) return undefined;
  return { acceptedToSubmitted: (s - a) / 1000, submittedToVerdict: (v - s) / 1000 };
}

function getJson(url: string, ca: Buffer, token: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.once('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.once('error', reject);
    req.end();
  });
}

function curl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function curlRun(file: string, size: number, sha256: string): Promise<CurlRun> {
  const dir = mkdtempSync(join(tmpdir(), 'sandgate-bench-lab-'));
  const lab = await startLab({ port: 0, host: '127.0.0.1', dataDir: dir });
  try {
    const ca = readFileSync(lab.certPath);
    // The token reaches curl through a 0600 file, not its command line, which every local user can read in ps.
    const authHeader = join(dir, 'auth-header');
    writeFileSync(authHeader, `authorization: Bearer ${lab.token}\n`, { mode: 0o600 });
    const common = [
      '--silent',
      '--show-error',
      '--fail-with-body',
      '--cacert',
      lab.certPath,
      '-H',
      `@${authHeader}`,
      '-H',
      'content-type: application/octet-stream',
      '-H',
      `x-sandgate-sha256: ${sha256}`,
      '-H',
      'x-sandgate-filename: bench.bin',
      '-H',
      'expect:',
    ];
    const url = `${lab.url}/api/v1/submissions`;
    let mode: CurlRun['mode'] = '--data-binary';
    let t0 = performance.now();
    let r = await curl([...common, '--data-binary', `@${file}`, url]);
    if (r.code === 2 && /out of memory/i.test(r.stderr)) {
      // curl 7.88 reads --data-binary @file into memory and refuses 1 GiB or more (MAX_FILE2MEMORY); --upload-file
      // sends the same bytes to the same endpoint, streamed from disk.
      mode = '--upload-file';
      t0 = performance.now();
      r = await curl([...common, '-X', 'POST', '--upload-file', file, url]);
    }
    const uploadSeconds = (performance.now() - t0) / 1000;
    if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr} ${r.stdout}`);
    let analysis: LabAnalysis = labAnalysisSchema.parse(JSON.parse(r.stdout));
    // Polled at 20 ms so the wait adds little beyond the lab's own analysis time.
    while (analysis.state !== 'done' && analysis.state !== 'failed') {
      await new Promise((res) => setTimeout(res, 20));
      analysis = labAnalysisSchema.parse(await getJson(`${lab.url}/api/v1/submissions/${analysis.id}`, ca, lab.token));
    }
    const verdictSeconds = (performance.now() - t0) / 1000;
    return {
      mode,
      uploadSeconds,
      uploadMbPerSec: size / MB / uploadSeconds,
      verdictSeconds,
      verdictMbPerSec: size / MB / verdictSeconds,
      level: analysis.verdict?.level,
    };
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const work = mkdtempSync(join(tmpdir(), 'sandgate-bench-large-'));
const results: { sizeMiB: number; agent: AgentRun; curl: CurlRun }[] = [];
try {
  for (const sizeMiB of sizesMiB) {
    const size = sizeMiB * MiB;
    const file = join(work, `object-${sizeMiB}MiB.bin`);
    process.stderr.write(`generating ${sizeMiB} MiB of random content…\n`);
    const sha256 = await writeRandomFile(file, size);
    process.stderr.write(`sandgate submit --wait (${sizeMiB} MiB)…\n`);
    const agent = await agentRun(file, size);
    process.stderr.write(`curl --data-binary (${sizeMiB} MiB)…\n`);
    const c = await curlRun(file, size, sha256);
    results.push({ sizeMiB, agent, curl: c });
    rmSync(file, { force: true });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const rows = results.flatMap((r) => [
  [
    `${r.sizeMiB} MiB: sandgate submit --wait`,
    r.agent.seconds.toFixed(2),
    r.agent.mbPerSec.toFixed(0),
    r.agent.level ?? '–',
    `${mib(r.agent.idleHwm)} → ${mib(r.agent.peakHwm)}`,
  ],
  [
    `${r.sizeMiB} MiB: curl ${r.curl.mode} upload only (baseline)`,
    r.curl.uploadSeconds.toFixed(2),
    r.curl.uploadMbPerSec.toFixed(0),
    '–',
    '–',
  ],
  [
    `${r.sizeMiB} MiB: curl ${r.curl.mode} upload + verdict (baseline)`,
    r.curl.verdictSeconds.toFixed(2),
    r.curl.verdictMbPerSec.toFixed(0),
    r.curl.level ?? '–',
    '–',
  ],
]);
process.stdout.write(table(['run', 'seconds', 'MB/s', 'verdict', 'agent VmHWM MiB (idle → peak)'], rows) + '\n');
for (const r of results) {
  if (r.agent.phases) {
    process.stdout.write(
      `${r.sizeMiB} MiB agent events: object-accepted → object-submitted ${r.agent.phases.acceptedToSubmitted.toFixed(2)} s, ` +
        `object-submitted → verdict ${r.agent.phases.submittedToVerdict.toFixed(2)} s\n`,
    );
  }
}
const peaks = results.map((r) => `${r.sizeMiB} MiB → ${mib(r.agent.peakHwm)} MiB`).join(', ');
process.stdout.write(`agent peak RSS by object size: ${peaks}\n`);
const file = writeResult('submit-large', { unit: { time: 's', throughput: 'MB/s (1e6 bytes)', memory: 'bytes' }, results });
process.stdout.write(`result: ${file}\n`);
