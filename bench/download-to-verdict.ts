/// <reference types="chrome" />
/**
 * Time from a browser download's completion to its verdict arriving in the extension, over N downloads (default 50)
 * of distinct small PDFs (unique content, so the lab's verdict cache never answers), in real Chromium with the real
 * extension, native host, agent service and sandgate-lab on loopback.
 *
 *   npx node bench/download-to-verdict.ts [--n 50]
 *
 * How each figure is measured (one clock: this machine's wall clock, in milliseconds):
 * - total: the service worker timestamps `downloads.onChanged` state=complete and, through a `storage.onChanged`
 *   listener, the first write of the extension's own storage that carries a verdict for that download. Both listeners
 *   are added by this benchmark with `sw.evaluate`; the extension is not modified.
 * - in the agent: the agent's event log, `object-accepted` → `verdict` for that path, minus the lab's own analysis time
 *   (the analysis's `finishedAt − submittedAt`, from `GET /api/v1/files/{sha256}`). What remains is the agent's queueing,
 *   TLS, hash look-up, upload and waiting on the lab's answer beyond its analysis.
 * - capture and transport: total minus accept → verdict: the extension's capture decision, native messaging, the
 *   bridge, IPC, the copy into the queue while hashing, and the verdict's way back.
 * - baseline, same run: the same kind of file sent straight to the lab by a bare HTTPS client (hash look-up, upload,
 *   polling every 10 ms until done): what the sandbox alone costs on loopback.
 * - the trace: the agent and the bridge run with SANDGATE_LOG_LEVEL=debug, whose log lines (millisecond timestamps) mark
 *   when the bridge got the browser's request, when the agent got it over IPC, when the agent pushed the first job
 *   update and when the bridge wrote it to the browser. With the download's completion, the `object-accepted` and
 *   `verdict` events and the storage write, that splits the path into hops (see `trace` below): each a median over the
 *   samples, so the hops need not add up to the total's median exactly.
 * Downloads run one at a time, each waiting for its verdict, so no sample queues behind another.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { labAnalysisSchema, type AgentEvent, type LabAnalysis } from '@sandgate/shared';
import { createBrowserDirs, findExtensionVerdict, launchBrowser, type BrowserSession } from '../test/helpers/browser.ts';
import { cleanPdfBytes, startDownloadServer, type DownloadServer } from '../scripts/lib/download-page.ts';
import { pollFor, startStack, type LabHandle, type Stack } from '../test/helpers/stack.ts';
import { summarize, type Summary } from './lib/stats.ts';
import { ms, table, writeResult } from './lib/report.ts';

const nArg = process.argv.indexOf('--n');
const N = nArg > 0 ? Number(process.argv[nArg + 1]) : 50;
const WARMUP = 2;

interface Sample {
  i: number;
  downloadId: number;
  totalMs: number;
  acceptToVerdictMs: number;
  /** object-accepted → object-submitted in the agent's event log (queue to the start of the submission). */
  acceptToSubmitMs: number;
  labAnalysisMs: number;
  agentOwnMs: number;
  captureAndTransportMs: number;
  /** Hops, from the trace points; NaN when a line was not found. */
  trace: Record<TraceHop, number>;
}

const TRACE_HOPS = {
  inExtension: 'download complete → the bridge has the request (extension capture, native messaging)',
  bridgeToAgent: 'bridge → the agent has the request (IPC)',
  agentAccept: 'agent: request → object accepted (confinement, copy while hashing, fsync)',
  acceptToSubmit: 'agent: object accepted → submission started (queue, job marked analysing)',
  submitToLab: 'agent → the lab has the upload (hash look-up, upload)',
  labAnalysis: "the lab's analysis",
  labToVerdict: "lab done → the agent's verdict recorded (long poll answer)",
  verdictToPush: 'agent: verdict recorded → the job update carrying it pushed',
  pushToBridge: 'agent push → the bridge writes it to the browser (IPC)',
  bridgeToStorage: 'bridge → the verdict in the extension storage (native messaging, extension)',
} as const;
type TraceHop = keyof typeof TRACE_HOPS;

/** The log lines (JSON, one per line) with this message, parsed; lines that are not JSON are skipped. */
function logLines(text: string, msg: string): Array<Record<string, unknown> & { t: number }> {
  const out: Array<Record<string, unknown> & { t: number }> = [];
  for (const line of text.split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (rec.msg === msg && typeof rec.time === 'string') out.push({ ...rec, t: Date.parse(rec.time) });
    } catch {
      // Not a log line.
    }
  }
  return out;
}

interface BenchGlobals {
  __sgBench?: { complete: Record<number, number>; changes: { t: number; v: Record<string, unknown> }[] };
}

/** One request to the lab, pinned to its certificate and carrying its token. */
function https(
  method: string,
  url: string,
  lab: LabHandle,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  const ca = readFileSync(lab.certPath);
  const all = { ...headers, authorization: `Bearer ${lab.token}`, ...(body ? { 'content-length': String(body.length) } : {}) };
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca, headers: all }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.once('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.once('error', reject);
    req.end(body);
  });
}

async function labAnalysis(lab: LabHandle, sha256: string): Promise<LabAnalysis> {
  const r = await https('GET', `${lab.url}/api/v1/files/${sha256}`, lab);
  if (r.status !== 200) throw new Error(`the lab does not know ${sha256} (${r.status})`);
  return labAnalysisSchema.parse(r.json);
}

async function oneDownload(i: number, ctx: { browser: BrowserSession; server: DownloadServer; stack: Stack }): Promise<Sample> {
  const { browser, server, stack } = ctx;
  const name = `bench-${i}-${randomUUID().slice(0, 8)}.pdf`;
  const body = cleanPdfBytes(`Sandgate benchmark document ${i} ${randomUUID()}`);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const url = server.addFile(name, body, 'application/pdf');
  const path = join(browser.downloadDir, name);
  const page = browser.context.pages()[0]!;

  // A real click (a user gesture) on the page's link for this file; the page lists every file added so far.
  await page.goto(server.pageUrl);
  await page.click(`a[id="${name}"]`);

  const downloadId = await pollFor(`download ${i}`, async () => {
    const ids = await browser.sw.evaluate(async (u) => (await chrome.downloads.search({ url: u })).map((d) => d.id), url);
    return ids[0];
  });
  const { tComplete, tVerdict } = await pollFor(
    `the verdict for download ${i}`,
    async () => {
      const g = await browser.sw.evaluate(() => (globalThis as BenchGlobals).__sgBench!);
      const complete = g.complete[downloadId];
      const hit = g.changes.find((c) => findExtensionVerdict(c.v, downloadId));
      return complete !== undefined && hit ? { tComplete: complete, tVerdict: hit.t } : undefined;
    },
    60_000,
  );
  await browser.sw.evaluate(() => {
    (globalThis as BenchGlobals).__sgBench!.changes = [];
  });

  const events = await pollFor(`the agent's events for download ${i}`, () => {
    const forPath = stack
      .events()
      .filter((e) => e.path === path || (e.sha256 === sha256 && (e.type === 'verdict' || e.type === 'object-submitted')));
    const accepted = forPath.find((e) => e.type === 'object-accepted');
    const sameJob = (e: AgentEvent): boolean => !accepted?.jobId || e.jobId === accepted.jobId;
    const submitted = forPath.find((e) => e.type === 'object-submitted' && sameJob(e));
    const verdict = forPath.find((e) => e.type === 'verdict' && sameJob(e));
    return accepted && verdict ? { accepted, submitted, verdict } : undefined;
  });
  const analysis = await labAnalysis(stack.lab, sha256);
  const acceptToVerdictMs = Date.parse(events.verdict.time) - Date.parse(events.accepted.time);
  const labAnalysisMs = analysis.finishedAt ? Date.parse(analysis.finishedAt) - Date.parse(analysis.submittedAt) : Number.NaN;
  const totalMs = tVerdict - tComplete;
  const jobId = events.accepted.jobId;
  const agentLog = stack.agentLog();
  const bridgeLogFile = join(stack.paths.logs, 'native-host.log');
  const bridgeLog = existsSync(bridgeLogFile) ? readFileSync(bridgeLogFile, 'utf8') : '';
  // The first update carrying the verdict: the extension shows it then, before the job's actions end.
  const final = (r: Record<string, unknown>) => r.jobId === jobId && typeof r.level === 'string';
  const tBridgeIn = logLines(bridgeLog, 'request from the browser').find((r) => r.path === path)?.t ?? Number.NaN;
  const tAgentIn = logLines(agentLog, 'request received').find((r) => r.path === path)?.t ?? Number.NaN;
  const tPushed = logLines(agentLog, 'job update pushed').find(final)?.t ?? Number.NaN;
  const tBridgeOut = logLines(bridgeLog, 'job update to the browser').find(final)?.t ?? Number.NaN;
  const tAccepted = Date.parse(events.accepted.time);
  const tVerdictEvent = Date.parse(events.verdict.time);
  const tSubmitted = events.submitted ? Date.parse(events.submitted.time) : Number.NaN;
  const trace: Record<TraceHop, number> = {
    inExtension: tBridgeIn - tComplete,
    bridgeToAgent: tAgentIn - tBridgeIn,
    agentAccept: tAccepted - tAgentIn,
    acceptToSubmit: tSubmitted - tAccepted,
    submitToLab: Date.parse(analysis.submittedAt) - tSubmitted,
    labAnalysis: labAnalysisMs,
    labToVerdict: analysis.finishedAt ? tVerdictEvent - Date.parse(analysis.finishedAt) : Number.NaN,
    verdictToPush: tPushed - tVerdictEvent,
    pushToBridge: tBridgeOut - tPushed,
    bridgeToStorage: tVerdict - tBridgeOut,
  };
  return {
    trace,
    i,
    downloadId,
    totalMs,
    acceptToVerdictMs,
    acceptToSubmitMs: events.submitted ? Date.parse(events.submitted.time) - Date.parse(events.accepted.time) : Number.NaN,
    labAnalysisMs,
    agentOwnMs: acceptToVerdictMs - labAnalysisMs,
    captureAndTransportMs: totalMs - acceptToVerdictMs,
  };
}

async function baseline(lab: LabHandle, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const body = cleanPdfBytes(`Sandgate baseline document ${i} ${randomUUID()}`);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const t0 = performance.now();
    const look = await https('GET', `${lab.url}/api/v1/files/${sha256}`, lab);
    if (look.status !== 404) throw new Error(`baseline object unexpectedly known to the lab (${look.status})`);
    const post = await https('POST', `${lab.url}/api/v1/submissions`, lab, body, {
      'content-type': 'application/octet-stream',
      'x-sandgate-sha256': sha256,
    });
    if (post.status !== 202 && post.status !== 200) throw new Error(`baseline upload answered ${post.status}`);
    let a = labAnalysisSchema.parse(post.json);
    while (a.state !== 'done' && a.state !== 'failed') {
      await new Promise((r) => setTimeout(r, 10));
      a = labAnalysisSchema.parse((await https('GET', `${lab.url}/api/v1/submissions/${a.id}`, lab)).json);
    }
    out.push(performance.now() - t0);
  }
  return out;
}

const dirs = createBrowserDirs();
let stack: Stack | undefined;
let server: DownloadServer | undefined;
let browser: BrowserSession | undefined;
const samples: Sample[] = [];
let baselineMs: number[] = [];
try {
  // Debug level for the trace points (see the header); the agent and the bridge inherit it through the stack's env.
  process.env.SANDGATE_LOG_LEVEL = 'debug';
  stack = await startStack({ capture: { downloadDirs: [dirs.downloadDir] } });
  await stack.registerNativeHost(dirs.userDataDir);
  server = await startDownloadServer();
  browser = await launchBrowser({ dirs, env: stack.env });
  const page = await browser.context.newPage();
  await page.goto(server.pageUrl);
  await browser.sw.evaluate(() => {
    const g = globalThis as BenchGlobals;
    g.__sgBench = { complete: {}, changes: [] };
    chrome.downloads.onChanged.addListener((d) => {
      if (d.state?.current === 'complete') g.__sgBench!.complete[d.id] = Date.now();
    });
    chrome.storage.onChanged.addListener((changes, area) => {
      if (area !== 'local') return;
      const v: Record<string, unknown> = {};
      for (const [k, c] of Object.entries(changes)) v[k] = c.newValue;
      g.__sgBench!.changes.push({ t: Date.now(), v });
    });
  });

  for (let i = 0; i < WARMUP + N; i++) {
    const s = await oneDownload(i, { browser, server, stack });
    if (i >= WARMUP) samples.push(s);
    process.stderr.write(i < WARMUP ? `\rwarm-up ${i + 1}/${WARMUP}   ` : `\r${i + 1 - WARMUP}/${N} downloads   `);
  }
  process.stderr.write('\nbaseline (bare HTTPS client → lab)…\n');
  baselineMs = await baseline(stack.lab, N);
} finally {
  await browser?.close();
  await stack?.close();
  await server?.close();
  rmSync(dirs.root, { recursive: true, force: true });
}

const pick = (k: Exclude<keyof Sample, 'trace'>): Summary => summarize(samples.map((s) => s[k]));
const figures = {
  total: pick('totalMs'),
  acceptToVerdict: pick('acceptToVerdictMs'),
  acceptToSubmit: pick('acceptToSubmitMs'),
  labAnalysis: pick('labAnalysisMs'),
  agentOwn: pick('agentOwnMs'),
  captureAndTransport: pick('captureAndTransportMs'),
  baselineLabDirect: summarize(baselineMs),
};
const trace = Object.fromEntries(
  (Object.keys(TRACE_HOPS) as TraceHop[]).map((k) => [k, summarize(samples.map((s) => s.trace[k]).filter((x) => Number.isFinite(x)))]),
) as Record<TraceHop, Summary>;
const row = (label: string, s: Summary): string[] => [label, String(s.n), ms(s.median), ms(s.p95)];
process.stdout.write(
  table(
    ['download complete → verdict in the extension (ms)', 'n', 'median', 'p95'],
    [
      row('total', figures.total),
      row('  agent: object accepted → verdict', figures.acceptToVerdict),
      row('    of which accepted → submission started', figures.acceptToSubmit),
      row("    of which the lab's analysis", figures.labAnalysis),
      row("    the agent's own part (the rest)", figures.agentOwn),
      row('  capture, native messaging, bridge, IPC, queue copy', figures.captureAndTransport),
      row('baseline: bare HTTPS client → lab → verdict', figures.baselineLabDirect),
    ],
  ) +
    '\n\n' +
    table(
      ['the same path, hop by hop (ms)', 'n', 'median', 'p95'],
      (Object.keys(TRACE_HOPS) as TraceHop[]).map((k) => row(TRACE_HOPS[k], trace[k])),
    ) +
    '\n',
);
const file = writeResult('download-to-verdict', { n: N, warmup: WARMUP, unit: 'ms', figures, trace, samples, baselineMs });
process.stdout.write(`result: ${file}\n`);
