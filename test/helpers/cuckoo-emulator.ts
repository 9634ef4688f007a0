import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  EICAR,
  TASK_LIFECYCLE,
  emulatedTaskStatus,
  readUpload,
  scriptedFailure,
  send,
  sha256,
  type EmulatedTask,
  type EmulatedUpload,
  type EmulatorCounters,
  type FailedStatus,
} from './cape-emulator.ts';
import type { Pem } from './pki.ts';
import { closeServer, listenLoopback } from './loopback-server.ts';

/**
 * A Cuckoo Sandbox 2.x API emulator (`cuckoo api`, cuckoosandbox/cuckoo `cuckoo/apps/api.py`) for client tests: real
 * HTTPS on 127.0.0.1 (port 0), real multipart parsing, routes with and without the `/v1` prefix, errors as an HTTP
 * status with `{"message": …}`, the 2.0.7 bearer token, a file view that knows samples but not their tasks, a task
 * list oldest first, and a report that is 404 until the task is reported. Verdicts come from a rule: the EICAR string
 * scores 10 with a signature naming its family, anything else 0.
 */

export interface CuckooResult {
  score: number;
  signatures: Array<{ name: string; description: string; severity: number; families: string[] }>;
}

export function eicarCuckooRule(content: Buffer): CuckooResult {
  if (content.includes(EICAR)) {
    return {
      score: 10,
      signatures: [
        { name: 'yara_eicar', description: 'Matches the EICAR anti-virus test file', severity: 3, families: ['EICAR-Test-File'] },
      ],
    };
  }
  return { score: 0, signatures: [] };
}

export interface CuckooEmulatorOptions {
  tls: Pem;
  /** Transcript prefix; default `cuckoo`. */
  name?: string;
  transcript?: string[];
  /** When set, every request needs `Authorization: Bearer <token>` (401 otherwise, as Cuckoo 2.0.7 answers). */
  token?: string;
  /** Each lifecycle step takes this long; unset, each `tasks/view` moves a task one step (deterministic). */
  stepMs?: number;
  /** Requests after the first N are answered 429, as a rate-limiting proxy in front of Cuckoo would. */
  throttleAfter?: number;
  /** Tasks end in this status instead of `reported`. */
  failWith?: FailedStatus;
  /** With `failWith`: only the first N tasks uploads create fail (a guest that crashed, then recovered); default all. */
  failFirst?: number;
  /** Files Cuckoo already tried: each has one task that ended in `failWith` (default `failed_analysis`). */
  knownFailed?: Buffer[];
  /** Files Cuckoo already analysed: each has one reported task. */
  known?: Buffer[];
  /** Files Cuckoo knows (`files/view` finds them) but whose tasks were deleted. */
  knownWithoutTasks?: Buffer[];
  /** Unrelated tasks listed before the known ones (a busy server's history). */
  otherTasks?: number;
  machines?: number;
  rule?: (content: Buffer) => CuckooResult;
  /** Size of a `behavior` section added to every report: real reports run to tens of MiB once behaviour is logged. */
  reportBehaviorBytes?: number;
  override?: (req: { method: string; path: string }) => { status: number; body: string } | undefined;
}

export interface CuckooEmulator {
  url: string;
  transcript: string[];
  uploads: EmulatedUpload[];
  counters: EmulatorCounters;
  tasks: Map<number, EmulatedTask>;
  close(): Promise<void>;
}

const AUTH_MESSAGE = "Authentication in the form of an 'Authorization: Bearer <TOKEN>' header is required";

export async function startCuckooEmulator(opts: CuckooEmulatorOptions): Promise<CuckooEmulator> {
  const name = opts.name ?? 'cuckoo';
  const transcript = opts.transcript ?? [];
  const uploads: EmulatedUpload[] = [];
  const counters: EmulatorCounters = { requests: 0, uploads: 0, throttled: 0, authRefused: 0, statusPolls: 0 };
  const tasks = new Map<number, EmulatedTask>();
  const samples = new Map<string, { id: number; sha256: string; size: number }>();
  const rule = opts.rule ?? eicarCuckooRule;
  let nextTask = 1;

  const sampleFor = (content: Buffer) => {
    const sha = sha256(content);
    let s = samples.get(sha);
    if (!s) samples.set(sha, (s = { id: samples.size + 1, sha256: sha, size: content.length }));
    return s;
  };
  let uploadedTasks = 0;
  const addTask = (content: Buffer, filename: string, createdAt: number, polls = 0, failWith?: FailedStatus): number => {
    const id = nextTask++;
    tasks.set(id, { id, sha256: sampleFor(content).sha256, filename, content, createdAt, polls, ...(failWith ? { failWith } : {}) });
    return id;
  };
  for (let i = 0; i < (opts.otherTasks ?? 0); i++) addTask(Buffer.from(`other ${i}`), `other-${i}.bin`, 0, TASK_LIFECYCLE.length);
  for (const k of opts.known ?? []) addTask(k, 'known.bin', 0, TASK_LIFECYCLE.length);
  for (const k of opts.knownFailed ?? []) addTask(k, 'tried.bin', 0, TASK_LIFECYCLE.length, opts.failWith ?? 'failed_analysis');
  for (const k of opts.knownWithoutTasks ?? []) sampleFor(k);

  const statusOf = (t: EmulatedTask): string => emulatedTaskStatus(t, opts.stepMs);
  const taskDict = (t: EmulatedTask) => {
    const s = samples.get(t.sha256)!;
    const status = statusOf(t);
    return {
      id: t.id,
      category: 'file',
      target: `/tmp/cuckoo-tmp/${t.filename}`,
      status,
      priority: 1,
      sample_id: s.id,
      guest: {},
      errors: status.startsWith('failed_') ? ['The analysis hit a critical error (emulated)'] : [],
      sample: { id: s.id, sha256: s.sha256, file_size: s.size },
    };
  };

  const server = https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { message: String(err) });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const raw = (req.url ?? '/').split('?')[0]!;
    transcript.push(`${name} ${method} ${raw.replace(/[0-9a-f]{64}/, '{sha}')}`);
    counters.requests++;
    if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) {
      counters.authRefused++;
      req.resume();
      return send(res, 401, { message: AUTH_MESSAGE });
    }
    if (opts.throttleAfter !== undefined && counters.requests > opts.throttleAfter) {
      counters.throttled++;
      req.resume();
      return send(res, 429, { message: 'Too Many Requests' });
    }
    const scripted = opts.override?.({ method, path: raw });
    if (scripted) {
      req.resume();
      res.writeHead(scripted.status, { 'content-type': 'application/json' });
      res.end(scripted.body);
      return;
    }
    const path = raw.replace(/^\/v1(?=\/)/, '');
    let m: RegExpExecArray | null;

    if (method === 'GET' && path === '/cuckoo/status') {
      const machines = opts.machines ?? 2;
      const count = (s: string) => [...tasks.values()].filter((t) => statusOf(t) === s).length;
      return send(res, 200, {
        version: '2.0.7',
        hostname: 'cuckoo-emulator',
        machines: { total: machines, available: machines },
        tasks: {
          total: tasks.size,
          pending: count('pending'),
          running: count('running'),
          completed: count('completed'),
          reported: count('reported'),
        },
        diskspace: {},
        cpuload: [0.1, 0.1, 0.1],
        memory: 42.0,
      });
    }
    if (method === 'POST' && path === '/tasks/create/file') {
      const upload = await readUpload(req);
      // Flask's request.files["file"] on a missing part: a plain 400 page, not JSON.
      if (!upload.file) {
        res.writeHead(400, { 'content-type': 'text/html' });
        res.end('<title>400 Bad Request</title>');
        return;
      }
      counters.uploads++;
      uploads.push({ ...upload.file, fields: upload.fields, declaredLength: upload.declaredLength, receivedLength: upload.receivedLength });
      return send(res, 200, {
        task_id: addTask(upload.file.content, upload.file.filename, Date.now(), 0, scriptedFailure(opts, uploadedTasks++)),
      });
    }
    if (method === 'GET' && (m = /^\/tasks\/view\/(\d+)$/.exec(path))) {
      const t = tasks.get(Number(m[1]));
      if (!t) return send(res, 404, { message: 'Task not found' });
      counters.statusPolls++;
      const before = statusOf(t);
      if (before !== 'reported' && !before.startsWith('failed_')) t.polls++;
      return send(res, 200, { task: taskDict(t) });
    }
    if (method === 'GET' && (m = /^\/tasks\/list(?:\/(\d+)(?:\/(\d+))?)?$/.exec(path))) {
      const limit = m[1] ? Number(m[1]) : Infinity;
      const offset = m[2] ? Number(m[2]) : 0;
      const all = [...tasks.values()].sort((a, b) => a.id - b.id);
      return send(res, 200, { tasks: all.slice(offset, offset + limit).map(taskDict) });
    }
    if (method === 'GET' && (m = /^\/tasks\/report\/(\d+)(?:\/json)?$/.exec(path))) {
      const t = tasks.get(Number(m[1]));
      if (!t || statusOf(t) !== 'reported') return send(res, 404, { message: 'Report not found' });
      const r = rule(t.content);
      return send(res, 200, {
        info: { id: t.id, score: r.score, category: 'file', package: 'exe', version: '2.0.7', duration: 120 },
        target: { category: 'file', file: { name: t.filename, sha256: t.sha256, size: t.content.length } },
        signatures: r.signatures,
        ...(opts.reportBehaviorBytes
          ? { behavior: { processes: [{ process_name: 'sample.exe', calls: 'x'.repeat(opts.reportBehaviorBytes) }] } }
          : {}),
      });
    }
    if (method === 'GET' && (m = /^\/files\/view\/sha256\/([^/]+)$/.exec(path))) {
      const s = samples.get(m[1]!.toLowerCase());
      if (!s) return send(res, 404, { message: 'File not found' });
      return send(res, 200, { sample: { id: s.id, sha256: s.sha256, file_size: s.size, file_type: 'data' } });
    }
    req.resume();
    res.writeHead(404, { 'content-type': 'text/html' });
    res.end('<title>404 Not Found</title>');
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
