import type { z } from 'zod';
import {
  SandgateError,
  cuckooCreateSchema,
  cuckooErrorSchema,
  cuckooReportSchema,
  cuckooSampleViewSchema,
  cuckooStatusSchema,
  cuckooTaskListSchema,
  cuckooTaskViewSchema,
  type CuckooTask,
  type SandboxServer,
  type Verdict,
} from '@sandgate/shared';
import { cuckooFamilies, cuckooIndicators, cuckooVerdictLevel } from './backend-verdict.ts';
import { MAX_REPORT_BYTES, type HttpsAnswer } from './https-call.ts';
import { TokenApi, type TokenApiClientOptions } from './token-api.ts';
import { multipartBody } from './multipart-body.ts';
import type { QueuedObject, SandboxClient } from './sandbox-client.ts';

export type CuckooClientOptions = TokenApiClientOptions;

// Cuckoo analyses take minutes; there is no point asking more often than this.
const POLL_FIRST_MS = 5_000;
const POLL_MAX_MS = 30_000;
const POLL_GROWTH = 1.5;
/**
 * Cuckoo 2 can tell whether it knows a file (`files/view/sha256`) but has no way from a file to its tasks: the
 * agent reads the task list, a page at a time, only for a file Cuckoo knows, and gives up (uploads) after this many.
 */
export const CUCKOO_TASK_PAGE = 100;
export const CUCKOO_TASK_PAGES_MAX = 5;

type Phase = 'done' | 'failed' | 'running';

/** `reported` is the only status with a report; `failed_*` never gets one; anything else is on its way. */
export function cuckooTaskPhase(status: string): Phase {
  if (status === 'reported') return 'done';
  if (status.startsWith('failed_')) return 'failed';
  return 'running';
}

/**
 * A Cuckoo Sandbox 2.x server (`cuckoo api`, token as `Authorization: Bearer`). Looks the SHA-256 up first and
 * reuses a task of a file Cuckoo already knows, uploads only an unknown object (multipart, streamed), polls the
 * task, then reads `info.score` and the signatures from the JSON report.
 */
export class CuckooClient implements SandboxClient {
  readonly url: string;
  readonly kind = 'cuckoo';
  private readonly api: TokenApi;
  private readonly opts: CuckooClientOptions;

  constructor(server: SandboxServer, opts: CuckooClientOptions) {
    this.url = server.url;
    this.api = new TokenApi(server, 'Bearer', 'Cuckoo', opts);
    this.opts = opts;
  }

  async analyse(obj: QueuedObject, signal: AbortSignal): Promise<Verdict> {
    const known = await this.lookup(obj.sha256, signal);
    const task = known ?? { id: await this.upload(obj, signal), status: 'pending' };
    const status = await this.waitForTask(task, signal);
    if (cuckooTaskPhase(status.status) === 'failed') {
      const why = status.errors?.length ? `: ${this.api.safeText(status.errors.join('; '))}` : '';
      throw new SandgateError('ANALYSIS_FAILED', `${this.url}: the analysis failed (task ${task.id} ${status.status}${why})`, {
        params: { server: this.url, analysisId: String(task.id), status: status.status },
      });
    }
    const report = this.expect(
      await this.api.call({ method: 'GET', path: `/tasks/report/${task.id}`, maxResponseBytes: MAX_REPORT_BYTES }, signal),
      cuckooReportSchema,
    );
    if (report.info.id !== undefined && report.info.id !== task.id)
      throw this.api.invalid(`answered with the report of task ${report.info.id} when asked for task ${task.id}`);
    const reported = report.target?.file?.sha256?.toLowerCase();
    if (reported && reported !== obj.sha256) throw this.api.invalid(`answered about ${reported} when asked about ${obj.sha256}`);
    const level = cuckooVerdictLevel(report.info.score);
    const threat = level === 'malicious' || level === 'suspicious' ? cuckooFamilies(report.signatures)[0] : undefined;
    return {
      level,
      ...(threat ? { threat: threat.slice(0, 512) } : {}),
      server: this.url,
      score: report.info.score,
      indicators: cuckooIndicators(report.signatures).slice(0, 1000),
      analysisId: String(task.id),
    };
  }

  async probe(signal: AbortSignal): Promise<void> {
    const status = this.expect(await this.api.call({ method: 'GET', path: '/cuckoo/status' }, signal), cuckooStatusSchema);
    if (status.machines.total === 0) {
      throw new SandgateError('SERVER_ERROR', `${this.url}: Cuckoo has no analysis machines`, { params: { server: this.url } });
    }
  }

  close(): void {
    this.opts.agent.destroy();
  }

  /** A reported or still running task of this file, newest first; undefined when Cuckoo does not know the file. */
  private async lookup(sha256: string, signal: AbortSignal): Promise<Pick<CuckooTask, 'id' | 'status'> | undefined> {
    const answer = await this.api.call({ method: 'GET', path: `/files/view/sha256/${sha256}` }, signal);
    if (answer.status === 404) return undefined;
    const sample = this.expect(answer, cuckooSampleViewSchema).sample;
    if (sample.sha256.toLowerCase() !== sha256) throw this.api.invalid(`answered about ${sample.sha256} when asked about ${sha256}`);
    const mine: CuckooTask[] = [];
    for (let page = 0; page < CUCKOO_TASK_PAGES_MAX; page++) {
      const list = this.expect(
        await this.api.call({ method: 'GET', path: `/tasks/list/${CUCKOO_TASK_PAGE}/${page * CUCKOO_TASK_PAGE}` }, signal),
        cuckooTaskListSchema,
      ).tasks;
      mine.push(...list.filter((t) => t.sample_id === sample.id || t.sample?.sha256?.toLowerCase() === sha256));
      if (list.length < CUCKOO_TASK_PAGE) break;
    }
    const newest = (phase: Phase) => mine.filter((t) => cuckooTaskPhase(t.status) === phase).sort((a, b) => b.id - a.id)[0];
    const pick = newest('done') ?? newest('running');
    return pick ? { id: pick.id, status: pick.status } : undefined;
  }

  private async upload(obj: QueuedObject, signal: AbortSignal): Promise<number> {
    const body = multipartBody({ file: { field: 'file', filename: obj.filename ?? obj.sha256, body: obj.body } });
    const answer = await this.api.call(
      {
        method: 'POST',
        path: '/tasks/create/file',
        headers: { 'content-type': body.contentType, 'content-length': body.contentLength },
        body: body.open,
      },
      signal,
    );
    const created = this.expect(answer, cuckooCreateSchema);
    if (created.task_id === null) {
      throw new SandgateError('SERVER_ERROR', `${this.url}: Cuckoo accepted the upload but created no task`, {
        params: { server: this.url },
      });
    }
    return created.task_id;
  }

  /** Polls `tasks/view` until the task is reported or failed, within `analysisTimeoutMs`. */
  private async waitForTask(task: Pick<CuckooTask, 'id' | 'status'>, signal: AbortSignal): Promise<Pick<CuckooTask, 'status' | 'errors'>> {
    const clock = this.opts.clock;
    const deadline = clock.now().getTime() + this.opts.analysisTimeoutMs;
    const maxDelay = this.opts.pollMaxMs ?? POLL_MAX_MS;
    let delay = this.opts.pollFirstMs ?? POLL_FIRST_MS;
    let current: Pick<CuckooTask, 'status' | 'errors'> = { status: task.status };
    while (cuckooTaskPhase(current.status) === 'running') {
      if (clock.now().getTime() >= deadline) {
        throw new SandgateError(
          'SERVER_TIMEOUT',
          `${this.url}: no report within ${this.opts.analysisTimeoutMs} ms (task ${task.id} ${current.status})`,
          {
            params: { server: this.url, analysisId: String(task.id) },
          },
        );
      }
      await clock.sleep(Math.max(0, Math.min(delay, deadline - clock.now().getTime())), signal);
      delay = Math.min(maxDelay, delay * POLL_GROWTH);
      try {
        current = this.expect(await this.api.call({ method: 'GET', path: `/tasks/view/${task.id}` }, signal), cuckooTaskViewSchema).task;
      } catch (err) {
        // A proxy in front of Cuckoo throttling us: the task is not lost, so wait longer instead of giving it up.
        if (err instanceof SandgateError && err.code === 'SERVER_THROTTLED') delay = maxDelay;
        else throw err;
      }
    }
    return current;
  }

  private expect<T extends z.ZodType>(answer: HttpsAnswer, schema: T): z.infer<T> {
    const json = this.api.readJson(answer, (j) => {
      const e = cuckooErrorSchema.safeParse(j);
      return e.success ? this.api.safeText(e.data.message) : undefined;
    });
    return this.api.parse(json, schema);
  }
}
