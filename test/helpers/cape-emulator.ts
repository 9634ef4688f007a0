import { createHash } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pem } from './pki.ts';
import { closeServer, listenLoopback } from './loopback-server.ts';

/**
 * A CAPEv2 REST API v2 emulator for client tests: real HTTPS on 127.0.0.1 (port 0), real multipart parsing, and
 * CAPE's quirks as its `web/apiv2/views.py` has them: failures as HTTP 200 with `error: true`, success on task
 * creation as `error: []`, DRF's 401 and 429 with `{"detail": …}`, tasks moving pending → running → completed →
 * reported (or to a `failed_*` status), a task search that answers for unpacked files, and a task view that carries
 * the score only when a report store is configured. Verdicts come from a rule: the EICAR string scores 10 with a
 * detected family, anything else 0.
 */

export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
export const TASK_LIFECYCLE = ['pending', 'running', 'completed', 'reported'] as const;

export interface CapeResult {
  malscore: number;
  malstatus: string;
  detections: Array<{ family: string; details: Array<Record<string, string>> }>;
}

/** The default verdict rule: EICAR anywhere in the content is malicious, anything else clean. */
export function eicarRule(content: Buffer): CapeResult {
  if (content.includes(EICAR)) {
    return { malscore: 10, malstatus: 'Malicious', detections: [{ family: 'EICAR-Test-File', details: [{ Yara: 'EICAR' }] }] };
  }
  return { malscore: 0, malstatus: 'Clean', detections: [] };
}

export interface CapeEmulatorOptions {
  tls: Pem;
  /** Transcript prefix; default `cape`. */
  name?: string;
  /** Shared transcript; one line per request: `cape GET /apiv2/tasks/status/1/`. Hashes print as `{sha}`. */
  transcript?: string[];
  /** When set, every request needs `Authorization: Token <token>` (401 otherwise, as DRF answers). */
  token?: string;
  /** Each lifecycle step takes this long; unset, each status poll moves a task one step (deterministic). */
  stepMs?: number;
  /** Requests after the first N are answered 429 (DRF throttling); 0 throttles everything. */
  throttleAfter?: number;
  /** Tasks end in this status instead of `reported`. */
  failWith?: FailedStatus;
  /** With `failWith`: only the first N tasks uploads create fail (a guest that crashed, then recovered); default all. */
  failFirst?: number;
  /** Files CAPE already tried: each has one task that ended in `failWith` (default `failed_analysis`). */
  knownFailed?: Buffer[];
  /** Endpoints answering HTTP 200 `{"error": true, "error_value": "… API is Disabled"}`. */
  disabled?: Array<'create' | 'search' | 'taskstatus' | 'view' | 'report' | 'cuckoostatus'>;
  /** The task view without `malscore`/`detections`, as a CAPE without MongoDB/Elasticsearch answers. */
  viewWithoutScores?: boolean;
  /** Files CAPE already analysed: each has one reported task. */
  known?: Buffer[];
  /** Analysis machines reported by `cuckoo/status`; default 2. */
  machines?: number;
  rule?: (content: Buffer) => CapeResult;
  /** Files the upload is unpacked into (CAPE's archive demux): one task per returned file. */
  unpack?: (content: Buffer) => Buffer[] | undefined;
  /** A scripted answer that wins over everything after authentication and throttling (garbage, odd statuses). */
  override?: (req: { method: string; path: string }) => { status: number; body: string } | undefined;
}

export interface EmulatedUpload {
  filename: string;
  content: Buffer;
  fields: Record<string, string>;
  /** The request's Content-Length and the bytes that arrived: equal for a well-formed upload. */
  declaredLength: number;
  receivedLength: number;
}

export type FailedStatus = 'failed_analysis' | 'failed_processing' | 'failed_reporting';

export interface EmulatedTask {
  id: number;
  sha256: string;
  filename: string;
  content: Buffer;
  createdAt: number;
  polls: number;
  /** The `failed_*` status this task ends in instead of `reported`. */
  failWith?: FailedStatus;
}

/**
 * A task's status: pending → running → completed → reported, one step per status poll (or per `stepMs`), as the
 * CAPE and Cuckoo schedulers move it. `failed_analysis` replaces `completed` (the guest never finished); the other
 * failures replace `reported` (processing or reporting broke after the run). Shared by both emulators: the two
 * projects share this lifecycle (Cuckoo's `TASK_*` constants, which CAPE kept).
 */
export function emulatedTaskStatus(t: EmulatedTask, stepMs: number | undefined): string {
  const step = stepMs === undefined ? t.polls : Math.floor((Date.now() - t.createdAt) / Math.max(1, stepMs));
  const normal = TASK_LIFECYCLE[Math.min(step, TASK_LIFECYCLE.length - 1)]!;
  if (!t.failWith) return normal;
  if (t.failWith === 'failed_analysis' && (normal === 'completed' || normal === 'reported')) return t.failWith;
  return normal === 'reported' ? t.failWith : normal;
}

/** The failure an upload's new task is scripted to end in, given how many tasks uploads created before it. */
export function scriptedFailure(opts: { failWith?: FailedStatus; failFirst?: number }, uploadedBefore: number): FailedStatus | undefined {
  if (!opts.failWith) return undefined;
  return opts.failFirst === undefined || uploadedBefore < opts.failFirst ? opts.failWith : undefined;
}

export interface EmulatorCounters {
  requests: number;
  uploads: number;
  throttled: number;
  authRefused: number;
  statusPolls: number;
}

export interface CapeEmulator {
  url: string;
  transcript: string[];
  uploads: EmulatedUpload[];
  counters: EmulatorCounters;
  tasks: Map<number, EmulatedTask>;
  close(): Promise<void>;
}

interface Sample {
  id: number;
  sha256: string;
  size: number;
  children: string[];
}

export async function startCapeEmulator(opts: CapeEmulatorOptions): Promise<CapeEmulator> {
  const name = opts.name ?? 'cape';
  const transcript = opts.transcript ?? [];
  const uploads: EmulatedUpload[] = [];
  const counters: EmulatorCounters = { requests: 0, uploads: 0, throttled: 0, authRefused: 0, statusPolls: 0 };
  const tasks = new Map<number, EmulatedTask>();
  const samples = new Map<string, Sample>();
  const rule = opts.rule ?? eicarRule;
  const disabled = new Set(opts.disabled ?? []);
  let nextTask = 1;

  const sampleFor = (content: Buffer): Sample => {
    const sha = sha256(content);
    let s = samples.get(sha);
    if (!s) samples.set(sha, (s = { id: samples.size + 1, sha256: sha, size: content.length, children: [] }));
    return s;
  };
  let uploadedTasks = 0;
  const addTask = (content: Buffer, filename: string, createdAt: number, polls = 0, failWith?: FailedStatus): number => {
    const id = nextTask++;
    tasks.set(id, { id, sha256: sampleFor(content).sha256, filename, content, createdAt, polls, ...(failWith ? { failWith } : {}) });
    return id;
  };
  /** A task for an upload: whether it fails is scripted by `failWith` and `failFirst`. */
  const uploadTask = (content: Buffer, filename: string): number =>
    addTask(content, filename, Date.now(), 0, scriptedFailure(opts, uploadedTasks++));
  for (const k of opts.known ?? []) addTask(k, 'known.bin', 0, TASK_LIFECYCLE.length);
  for (const k of opts.knownFailed ?? []) addTask(k, 'tried.bin', 0, TASK_LIFECYCLE.length, opts.failWith ?? 'failed_analysis');

  const statusOf = (t: EmulatedTask): string => emulatedTaskStatus(t, opts.stepMs);
  const taskDict = (t: EmulatedTask) => {
    const s = samples.get(t.sha256)!;
    return {
      id: t.id,
      target: t.filename,
      category: 'file',
      status: statusOf(t),
      priority: 1,
      machine: null,
      package: null,
      sample_id: s.id,
      added_on: new Date(t.createdAt || Date.now()).toISOString().replace('T', ' ').slice(0, 19),
      guest: {},
      errors: [],
      sample: { id: s.id, sha256: s.sha256, file_size: s.size, md5: md5(t.content) },
    };
  };

  const server = https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: true, error_value: String(err) });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    transcript.push(`${name} ${method} ${path.replace(/[0-9a-f]{64}/, '{sha}')}`);
    counters.requests++;
    // DRF order: authentication, then throttling, then the view.
    if (opts.token !== undefined) {
      const auth = req.headers.authorization;
      if (auth !== `Token ${opts.token}`) {
        counters.authRefused++;
        req.resume();
        return send(
          res,
          401,
          { detail: auth ? 'Invalid token.' : 'Authentication credentials were not provided.' },
          { 'www-authenticate': 'Token' },
        );
      }
    }
    if (opts.throttleAfter !== undefined && counters.requests > opts.throttleAfter) {
      counters.throttled++;
      req.resume();
      return send(res, 429, { detail: 'Request was throttled. Expected available in 60 seconds.' }, { 'retry-after': '60' });
    }
    const scripted = opts.override?.({ method, path });
    if (scripted) {
      req.resume();
      res.writeHead(scripted.status, { 'content-type': 'application/json' });
      res.end(scripted.body);
      return;
    }
    const off = (what: string) => send(res, 200, { error: true, error_value: `${what} API is Disabled` });
    let m: RegExpExecArray | null;

    if (method === 'GET' && path === '/apiv2/cuckoo/status/') {
      if (disabled.has('cuckoostatus')) return send(res, 200, { error: true, error_value: 'Cuckoo Status API is disabled' });
      const machines = opts.machines ?? 2;
      const count = (s: string) => [...tasks.values()].filter((t) => statusOf(t) === s).length;
      return send(res, 200, {
        error: false,
        data: {
          version: '2.4-CAPE',
          hostname: 'cape-emulator',
          machines: { total: machines, available: machines },
          tasks: {
            total: tasks.size,
            pending: count('pending'),
            running: count('running'),
            completed: count('completed'),
            reported: count('reported'),
          },
        },
      });
    }
    if (method === 'POST' && path === '/apiv2/tasks/create/file/') {
      const upload = await readUpload(req);
      if (disabled.has('create')) return off('File Create');
      if (!upload.file) return send(res, 200, { error: true, error_value: 'No file was submitted' });
      counters.uploads++;
      uploads.push({ ...upload.file, fields: upload.fields, declaredLength: upload.declaredLength, receivedLength: upload.receivedLength });
      const parent = sampleFor(upload.file.content);
      const parts = opts.unpack?.(upload.file.content);
      const ids: number[] = [];
      if (parts && parts.length > 0) {
        for (const [i, p] of parts.entries()) {
          const child = sampleFor(p);
          if (!parent.children.includes(child.sha256)) parent.children.push(child.sha256);
          ids.push(uploadTask(p, `${upload.file.filename}-${i}`));
        }
      } else {
        ids.push(uploadTask(upload.file.content, upload.file.filename));
      }
      const message = ids.length === 1 ? `Task ID ${ids[0]} has been submitted` : `Task IDs ${ids.join(', ')} have been submitted`;
      return send(res, 200, { error: [], data: { task_ids: ids, message }, errors: [] });
    }
    if (method === 'GET' && (m = /^\/apiv2\/tasks\/search\/sha256\/([0-9a-fA-F]{64})\/$/.exec(path))) {
      if (disabled.has('search')) return off('Task Search');
      const sample = samples.get(m[1]!.toLowerCase());
      if (!sample) return send(res, 200, { data: [], error: false });
      const shas = sample.children.length > 0 ? sample.children : [sample.sha256];
      return send(res, 200, { error: [], data: [...tasks.values()].filter((t) => shas.includes(t.sha256)).map(taskDict) });
    }
    if (method === 'GET' && (m = /^\/apiv2\/files\/view\/sha256\/([0-9a-fA-F]{64})\/$/.exec(path))) {
      const sample = samples.get(m[1]!.toLowerCase());
      if (!sample) return send(res, 200, { error: true, error_value: 'Sample not found in database' });
      return send(res, 200, { error: [], data: { id: sample.id, sha256: sample.sha256, file_size: sample.size } });
    }
    if (method === 'GET' && (m = /^\/apiv2\/tasks\/status\/(\d+)\/$/.exec(path))) {
      if (disabled.has('taskstatus')) return send(res, 200, { error: true, error_value: 'Task status API is disabled' });
      const t = tasks.get(Number(m[1]));
      if (!t) return send(res, 200, { error: true, error_value: 'Task does not exist' });
      counters.statusPolls++;
      if (statusOf(t) !== 'reported' && !statusOf(t).startsWith('failed_')) t.polls++;
      return send(res, 200, { error: false, data: statusOf(t) });
    }
    if (method === 'GET' && (m = /^\/apiv2\/tasks\/view\/(\d+)\/$/.exec(path))) {
      if (disabled.has('view')) return off('Task View');
      const t = tasks.get(Number(m[1]));
      if (!t) return send(res, 200, { error: true, error_value: 'Task not found in database' });
      const entry: Record<string, unknown> = taskDict(t);
      if (statusOf(t) === 'reported' && !opts.viewWithoutScores) {
        const r = rule(t.content);
        entry.malscore = r.malscore;
        entry.detections = r.detections;
      }
      return send(res, 200, { error: false, data: entry });
    }
    if (method === 'GET' && (m = /^\/apiv2\/tasks\/get\/report\/(\d+)\/(?:json\/)?$/.exec(path))) {
      if (disabled.has('report')) return off('Task Report');
      const t = tasks.get(Number(m[1]));
      if (!t) return send(res, 200, { error: true, error_value: 'Task does not exist' });
      const status = statusOf(t);
      if (status.startsWith('failed_')) return send(res, 200, { error: true, error_value: 'Task failed' });
      if (status !== 'reported') return send(res, 200, { error: true, error_value: 'Task is still being analyzed' });
      const r = rule(t.content);
      return send(res, 200, {
        info: { id: t.id, category: 'file', package: 'exe', machine: { name: 'win10' }, duration: 120 },
        target: { category: 'file', file: { name: t.filename, sha256: t.sha256, size: t.content.length } },
        signatures: [],
        malscore: r.malscore,
        malstatus: r.malstatus,
        detections: r.detections,
      });
    }
    req.resume();
    send(res, 404, { detail: 'Not found.' });
  }

  const port = await listenLoopback(server);
  return {
    url: `https://127.0.0.1:${port}`,
    transcript,
    uploads,
    counters,
    tasks,
    close: () => closeServer(server),
  };
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function md5(b: Buffer): string {
  return createHash('md5').update(b).digest('hex');
}

/**
 * Reads a multipart/form-data request completely and parses it with the platform's own form-data parser (undici's,
 * the one `fetch` uses), independent of the agent's encoder. Small test uploads only: the whole body is buffered.
 */
export async function readUpload(req: IncomingMessage): Promise<{
  file?: { filename: string; content: Buffer };
  fields: Record<string, string>;
  declaredLength: number;
  receivedLength: number;
}> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  const declaredLength = Number(req.headers['content-length'] ?? -1);
  const fields: Record<string, string> = {};
  let file: { filename: string; content: Buffer } | undefined;
  try {
    const form = await new Response(body, { headers: { 'content-type': String(req.headers['content-type'] ?? '') } }).formData();
    for (const [key, value] of form) {
      if (typeof value === 'string') fields[key] = value;
      else if (key === 'file' && !file) file = { filename: value.name, content: Buffer.from(await value.arrayBuffer()) };
    }
  } catch {
    // not multipart: no file, as Django and Flask would see it
  }
  return { ...(file ? { file } : {}), fields, declaredLength, receivedLength: body.length };
}
