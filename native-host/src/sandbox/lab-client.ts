import type https from 'node:https';
import type { z } from 'zod';
import {
  LAB_BUSY_CODES,
  LAB_HEADERS,
  LAB_MAX_WAIT_MS,
  SandgateError,
  labAnalysisSchema,
  labErrorSchema,
  labHealthSchema,
  type LabAnalysis,
  type SandboxServer,
  type Verdict,
} from '@sandgate/shared';
import type { Clock } from '../clock.ts';
import type { HttpsAnswer } from './https-call.ts';
import { parseJsonBody, TokenApi } from './token-api.ts';
import type { QueuedObject, SandboxClient } from './sandbox-client.ts';

export interface LabClientOptions {
  agent: https.Agent;
  connectTimeoutMs: number;
  /** How long to wait for a verdict after the object is known to the server. */
  analysisTimeoutMs: number;
  /** Inactivity limit for one request once connected. */
  idleTimeoutMs?: number;
  clock: Clock;
}

const POLL_FIRST_MS = 200;
const POLL_MAX_MS = 2000;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/**
 * A `sandgate` server (sandgate-lab): look the hash up, upload only when the server does not know the object or its
 * analysis failed, then poll the analysis. Every answer is parsed with the lab-protocol schemas before it is believed. The policy's `token`
 * goes in `Authorization: Bearer` on every request (TokenApi: it is never repeated in a message or log).
 */
export class LabClient implements SandboxClient {
  readonly url: string;
  readonly kind = 'sandgate';
  private readonly api: TokenApi;
  private readonly opts: LabClientOptions;

  constructor(server: SandboxServer, opts: LabClientOptions) {
    this.url = server.url;
    this.api = new TokenApi(server, 'Bearer', 'sandgate-lab', opts);
    this.opts = opts;
  }

  async analyse(obj: QueuedObject, signal: AbortSignal): Promise<Verdict> {
    let analysis = await this.lookup(obj.sha256, signal);
    // A failed analysis is no answer: the lab analyses an object uploaded again afresh. The failover bounds how often.
    if (!analysis || analysis.state === 'failed') analysis = await this.upload(obj, signal);
    if (analysis.sha256 !== obj.sha256) {
      throw this.invalid(`answered about ${analysis.sha256} when asked about ${obj.sha256}`);
    }
    const deadline = this.opts.clock.now().getTime() + this.opts.analysisTimeoutMs;
    let delay = POLL_FIRST_MS;
    // Long poll: the server may hold each answer until the verdict is in. One that ignores `wait` answers at once; then
    // the rest of `delay` is slept, so such a server is asked no more often than before.
    const waitMs = Math.min(LAB_MAX_WAIT_MS, Math.floor((this.opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS) / 2));
    while (analysis.state === 'queued' || analysis.state === 'analysing') {
      if (this.opts.clock.now().getTime() >= deadline) {
        throw new SandgateError('SERVER_TIMEOUT', `${this.url}: no verdict within ${this.opts.analysisTimeoutMs} ms`, {
          params: { server: this.url },
        });
      }
      const asked = this.opts.clock.now().getTime();
      analysis = await this.poll(analysis.id, waitMs, signal);
      if (analysis.state !== 'queued' && analysis.state !== 'analysing') break;
      const left = delay - (this.opts.clock.now().getTime() - asked);
      if (left > 0) await this.opts.clock.sleep(left, signal);
      delay = Math.min(POLL_MAX_MS, delay * 2);
    }
    if (analysis.state === 'failed' || !analysis.verdict) {
      const why = analysis.error ? `${analysis.error.code}: ${analysis.error.message}` : 'no verdict';
      throw new SandgateError('ANALYSIS_FAILED', `${this.url}: the analysis failed (${why})`, { params: { server: this.url } });
    }
    const v = analysis.verdict;
    return {
      level: v.level,
      ...(v.threat ? { threat: v.threat } : {}),
      server: this.url,
      score: v.score,
      indicators: v.indicators.slice(0, 1000),
      analysisId: analysis.id,
    };
  }

  async probe(signal: AbortSignal): Promise<void> {
    const answer = await this.api.call({ method: 'GET', path: '/api/v1/health' }, signal);
    this.expect(answer, 200, labHealthSchema);
  }

  close(): void {
    this.opts.agent.destroy();
  }

  private async lookup(sha256: string, signal: AbortSignal): Promise<LabAnalysis | undefined> {
    const answer = await this.api.call({ method: 'GET', path: `/api/v1/files/${sha256}` }, signal);
    if (answer.status === 404) return undefined;
    return this.expect(answer, 200, labAnalysisSchema);
  }

  private async upload(obj: QueuedObject, signal: AbortSignal): Promise<LabAnalysis> {
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'content-length': obj.body.size,
      [LAB_HEADERS.sha256]: obj.sha256,
    };
    if (obj.filename) headers[LAB_HEADERS.filename] = encodeURIComponent(obj.filename);
    // Streamed from the queued copy: memory stays flat whatever the object's size.
    const answer = await this.api.call({ method: 'POST', path: '/api/v1/submissions', headers, body: () => obj.body.open() }, signal);
    return this.expect(answer, [200, 201, 202], labAnalysisSchema);
  }

  private async poll(id: string, waitMs: number, signal: AbortSignal): Promise<LabAnalysis> {
    const answer = await this.api.call({ method: 'GET', path: `/api/v1/submissions/${encodeURIComponent(id)}?wait=${waitMs}` }, signal);
    return this.expect(answer, 200, labAnalysisSchema);
  }

  private expect<T extends z.ZodType>(answer: HttpsAnswer, ok: number | number[], schema: T): z.infer<T> {
    const okStatuses = Array.isArray(ok) ? ok : [ok];
    const json = parseJsonBody(answer.body);
    if (!okStatuses.includes(answer.status)) {
      const err = labErrorSchema.safeParse(json);
      const serverCode = err.success ? err.data.error.code : undefined;
      const detail = err.success ? this.api.safeText(`${err.data.error.code}: ${err.data.error.message}`) : undefined;
      // "Not now, not here" (a limit of the server's): retryable, and the next server is tried meanwhile.
      if (serverCode && (LAB_BUSY_CODES as readonly string[]).includes(serverCode)) {
        throw new SandgateError('SERVER_BUSY', `${this.url}: HTTP ${answer.status} (${detail})`, {
          params: { server: this.url, status: answer.status, serverCode },
        });
      }
      // 401/403 → SERVER_AUTH_FAILED, 429 → SERVER_THROTTLED, the rest SERVER_ERROR; a 2xx we did not expect as well.
      if (answer.status >= 200 && answer.status < 300)
        throw new SandgateError('SERVER_ERROR', `${this.url}: HTTP ${answer.status}`, {
          params: { server: this.url, status: answer.status },
        });
      this.api.readJson(answer, () => detail);
    }
    const r = schema.safeParse(json);
    if (!r.success) throw this.invalid(`answer does not match the protocol (${r.error.issues[0]?.message ?? 'invalid'})`);
    return r.data;
  }

  private invalid(why: string): SandgateError {
    return new SandgateError('SERVER_RESPONSE_INVALID', `${this.url}: ${why}`, { params: { server: this.url } });
  }
}
