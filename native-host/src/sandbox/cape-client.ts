import type { z } from 'zod';
import {
  SandgateError,
  capeCreateSchema,
  capeDetailSchema,
  capeFailureSchema,
  capeFlagIsFailure,
  capeReportSchema,
  capeStatusSchema,
  capeTaskSearchSchema,
  capeTaskStatusSchema,
  capeTaskViewSchema,
  type CapeDetections,
  type CapeTask,
  type Indicator,
  type SandboxServer,
  type Verdict,
  type VerdictLevel,
} from '@sandgate/shared';
import { capeFamilies, capeIndicators, capeVerdictLevel, graver } from './backend-verdict.ts';
import { MAX_REPORT_BYTES, type HttpsAnswer } from './https-call.ts';
import { TokenApi, type TokenApiClientOptions } from './token-api.ts';
import { multipartBody } from './multipart-body.ts';
import type { QueuedObject, SandboxClient } from './sandbox-client.ts';

export type CapeClientOptions = TokenApiClientOptions;

// A CAPE analysis takes minutes, and CAPE's default API throttle is 5 requests a minute per user: polling gently
// costs a few seconds of latency and keeps several jobs from being throttled.
const POLL_FIRST_MS = 5_000;
const POLL_MAX_MS = 30_000;
const POLL_GROWTH = 1.5;

type Phase = 'done' | 'failed' | 'running';

/** `reported` is the only status with a report; `failed_*` and `banned` never get one; anything else is on its way. */
export function capeTaskPhase(status: string): Phase {
  if (status === 'reported') return 'done';
  if (status.startsWith('failed_') || status === 'banned') return 'failed';
  return 'running';
}

interface TaskRef {
  id: number;
  status: string;
}

interface TaskVerdict {
  id: number;
  level: VerdictLevel;
  score?: number;
  families: string[];
  indicators: Indicator[];
}

/**
 * A CAPEv2 server (REST API v2). Looks the SHA-256 up first and reuses a finished or running task, uploads only an
 * unknown object (multipart, streamed), polls the task status, then reads the verdict from the task view (or the
 * JSON report when the view carries no score). Every answer is parsed with the schemas in shared/ before it is believed.
 */
export class CapeClient implements SandboxClient {
  readonly url: string;
  readonly kind = 'cape';
  private readonly api: TokenApi;
  private readonly opts: CapeClientOptions;

  constructor(server: SandboxServer, opts: CapeClientOptions) {
    this.url = server.url;
    this.api = new TokenApi(server, 'Token', 'CAPE', opts);
    this.opts = opts;
  }

  async analyse(obj: QueuedObject, signal: AbortSignal): Promise<Verdict> {
    const tasks = (await this.lookup(obj.sha256, signal)) ?? (await this.upload(obj, signal));
    const finished = await this.waitForTasks(tasks, signal);
    const failed = finished.filter((t) => capeTaskPhase(t.status) === 'failed');
    const verdicts: TaskVerdict[] = [];
    for (const t of finished) if (capeTaskPhase(t.status) === 'done') verdicts.push(await this.verdictOf(t.id, signal));
    const worst = verdicts.reduce<VerdictLevel>((acc, v) => graver(acc, v.level), 'unknown');
    // One malicious file out of an unpacked archive is enough to judge it; a failure elsewhere cannot undo that.
    if (failed.length > 0 && worst !== 'malicious') {
      const which = failed.map((t) => `task ${t.id} ${t.status}`).join(', ');
      throw new SandgateError('ANALYSIS_FAILED', `${this.url}: the analysis failed (${which})`, {
        params: { server: this.url, analysisId: failed.map((t) => t.id).join(','), status: failed[0]!.status },
      });
    }
    return this.combine(verdicts, worst);
  }

  async probe(signal: AbortSignal): Promise<void> {
    const answer = await this.api.call({ method: 'GET', path: '/apiv2/cuckoo/status/' }, signal);
    const status = this.expect(answer, capeStatusSchema);
    if (status.data.machines.total === 0) {
      throw new SandgateError('SERVER_ERROR', `${this.url}: CAPE has no analysis machines`, { params: { server: this.url } });
    }
  }

  close(): void {
    this.opts.agent.destroy();
  }

  /**
   * The tasks CAPE already has for this hash, or undefined when it has none worth waiting for. The search answers
   * with the tasks of the file itself or, when CAPE unpacked it (an archive), with the tasks of the unpacked files;
   * per file the newest reported task wins, else the newest one still running. A search CAPE has disabled
   * (`error: true` with HTTP 200) means an upload, not a failure.
   */
  private async lookup(sha256: string, signal: AbortSignal): Promise<TaskRef[] | undefined> {
    const answer = await this.api.call({ method: 'GET', path: `/apiv2/tasks/search/sha256/${sha256}/` }, signal);
    const json = this.api.readJson(answer, (j) => this.detailOf(j));
    if (this.failureOf(json) !== undefined) return undefined;
    const found = this.api.parse(json, capeTaskSearchSchema).data;
    const own = found.filter((t) => t.sample?.sha256?.toLowerCase() === sha256);
    const pool = own.length > 0 ? own : found;
    if (pool.length === 0) return undefined;
    const byFile = new Map<string, CapeTask[]>();
    for (const t of pool) {
      const key = t.sample?.sha256?.toLowerCase() ?? `task-${t.id}`;
      byFile.set(key, [...(byFile.get(key) ?? []), t]);
    }
    const chosen: TaskRef[] = [];
    for (const tasks of byFile.values()) {
      const newest = (phase: Phase) => tasks.filter((t) => capeTaskPhase(t.status) === phase).sort((a, b) => b.id - a.id)[0];
      const pick = newest('done') ?? newest('running');
      if (!pick) return undefined;
      chosen.push({ id: pick.id, status: pick.status });
    }
    return chosen;
  }

  private async upload(obj: QueuedObject, signal: AbortSignal): Promise<TaskRef[]> {
    const body = multipartBody({ file: { field: 'file', filename: obj.filename ?? obj.sha256, body: obj.body } });
    const answer = await this.api.call(
      {
        method: 'POST',
        path: '/apiv2/tasks/create/file/',
        headers: { 'content-type': body.contentType, 'content-length': body.contentLength },
        body: body.open,
      },
      signal,
    );
    const created = this.expect(answer, capeCreateSchema);
    return created.data.task_ids.map((id) => ({ id, status: 'pending' }));
  }

  /** Polls until every task is reported or failed, within `analysisTimeoutMs`. */
  private async waitForTasks(tasks: TaskRef[], signal: AbortSignal): Promise<TaskRef[]> {
    const clock = this.opts.clock;
    const deadline = clock.now().getTime() + this.opts.analysisTimeoutMs;
    const maxDelay = this.opts.pollMaxMs ?? POLL_MAX_MS;
    let delay = this.opts.pollFirstMs ?? POLL_FIRST_MS;
    const state = tasks.map((t) => ({ ...t }));
    for (;;) {
      const waiting = state.filter((t) => capeTaskPhase(t.status) === 'running');
      if (waiting.length === 0) return state;
      if (clock.now().getTime() >= deadline) {
        throw new SandgateError(
          'SERVER_TIMEOUT',
          `${this.url}: no report within ${this.opts.analysisTimeoutMs} ms (task ${waiting.map((t) => t.id).join(', ')} ${waiting[0]!.status})`,
          {
            params: { server: this.url, analysisId: waiting.map((t) => t.id).join(',') },
          },
        );
      }
      await clock.sleep(Math.max(0, Math.min(delay, deadline - clock.now().getTime())), signal);
      delay = Math.min(maxDelay, delay * POLL_GROWTH);
      for (const t of waiting) {
        try {
          t.status = await this.status(t.id, signal);
        } catch (err) {
          // Throttled while waiting: the task is not lost, so wait longer instead of giving it up to the next server.
          if (err instanceof SandgateError && err.code === 'SERVER_THROTTLED') {
            delay = maxDelay;
            break;
          }
          throw err;
        }
      }
    }
  }

  private async status(id: number, signal: AbortSignal): Promise<string> {
    const answer = await this.api.call({ method: 'GET', path: `/apiv2/tasks/status/${id}/` }, signal);
    return this.expect(answer, capeTaskStatusSchema).data;
  }

  /** The task view carries malscore and detections when CAPE keeps reports in MongoDB/Elasticsearch; else the JSON report. */
  private async verdictOf(id: number, signal: AbortSignal): Promise<TaskVerdict> {
    const view = this.expect(await this.api.call({ method: 'GET', path: `/apiv2/tasks/view/${id}/` }, signal), capeTaskViewSchema).data;
    if (typeof view.malscore === 'number') return this.taskVerdict(id, { malscore: view.malscore, detections: view.detections });
    const report = this.expect(
      await this.api.call({ method: 'GET', path: `/apiv2/tasks/get/report/${id}/`, maxResponseBytes: MAX_REPORT_BYTES }, signal),
      capeReportSchema,
    );
    if (report.info?.id !== undefined && report.info.id !== id)
      throw this.api.invalid(`answered with the report of task ${report.info.id} when asked for task ${id}`);
    return this.taskVerdict(id, report);
  }

  private taskVerdict(
    id: number,
    r: { malscore?: number | null | undefined; malstatus?: string | null | undefined; detections?: CapeDetections | null | undefined },
  ): TaskVerdict {
    return {
      id,
      level: capeVerdictLevel(r),
      ...(typeof r.malscore === 'number' ? { score: r.malscore } : {}),
      families: capeFamilies(r.detections),
      indicators: capeIndicators(r.detections),
    };
  }

  private combine(verdicts: TaskVerdict[], level: VerdictLevel): Verdict {
    const gravest = verdicts.filter((v) => v.level === level);
    const scores = verdicts.flatMap((v) => (v.score === undefined ? [] : [v.score]));
    const threat = level === 'malicious' || level === 'suspicious' ? gravest.flatMap((v) => v.families)[0] : undefined;
    return {
      level,
      ...(threat ? { threat: threat.slice(0, 512) } : {}),
      server: this.url,
      ...(scores.length ? { score: Math.max(...scores) } : {}),
      indicators: verdicts.flatMap((v) => v.indicators).slice(0, 1000),
      analysisId: verdicts
        .map((v) => v.id)
        .join(',')
        .slice(0, 256),
    };
  }

  /** CAPE's own failure message when the answer says `error: true` (usually with HTTP 200). */
  private failureOf(json: unknown): string | undefined {
    const f = capeFailureSchema.safeParse(json);
    if (!f.success || !capeFlagIsFailure(f.data.error)) return undefined;
    const why = f.data.error === true ? f.data.error_value : f.data.error;
    return this.api.safeText(typeof why === 'string' ? why : why === undefined ? 'no reason given' : JSON.stringify(why));
  }

  private expect<T extends z.ZodType>(answer: HttpsAnswer, schema: T): z.infer<T> {
    const json = this.api.readJson(answer, (j) => this.detailOf(j));
    const failure = this.failureOf(json);
    if (failure !== undefined) {
      throw new SandgateError('SERVER_ERROR', `${this.url}: CAPE answered with an error: ${failure}`, {
        params: { server: this.url, status: answer.status, serverMessage: failure },
      });
    }
    return this.api.parse(json, schema);
  }

  private detailOf(json: unknown): string | undefined {
    const drf = capeDetailSchema.safeParse(json);
    if (drf.success) return this.api.safeText(drf.data.detail);
    return this.failureOf(json);
  }
}
