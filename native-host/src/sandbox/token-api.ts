import type https from 'node:https';
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import { SandgateError } from '@sandgate/shared';
import type { Clock } from '../clock.ts';
import { httpsCall, type HttpsAnswer } from './https-call.ts';

/** What the CAPE and Cuckoo clients are built with. */
export interface TokenApiClientOptions {
  agent: https.Agent;
  connectTimeoutMs: number;
  /** How long to wait for the report once the object is known to the sandbox. */
  analysisTimeoutMs: number;
  /** Inactivity limit for one request once connected. */
  idleTimeoutMs?: number;
  clock: Clock;
  /** First pause between status polls; it grows by half each time up to `pollMaxMs`. */
  pollFirstMs?: number;
  pollMaxMs?: number;
}

export interface TokenApiRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string | number>;
  body?: () => Readable;
  maxResponseBytes?: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const MAX_DETAIL_CHARS = 300;

/**
 * How Sandgate talks to a sandbox REST API that takes an API token (CAPE: `Authorization: Token`, Cuckoo: `Bearer`):
 * the request, the HTTP statuses every such API shares (401/403 → SERVER_AUTH_FAILED, 429 → SERVER_THROTTLED, other
 * errors → SERVER_ERROR), and server text made safe to log. The token is sent and never repeated in a message.
 */
export class TokenApi {
  readonly url: string;
  private readonly base: URL;
  private readonly token: string | undefined;
  private readonly scheme: 'Token' | 'Bearer';
  /** The product's name in messages: "CAPE", "Cuckoo". */
  private readonly product: string;
  private readonly opts: TokenApiClientOptions;

  constructor(
    server: { url: string; token?: string | undefined },
    scheme: 'Token' | 'Bearer',
    product: string,
    opts: TokenApiClientOptions,
  ) {
    this.url = server.url;
    this.base = new URL(server.url);
    this.token = server.token;
    this.scheme = scheme;
    this.product = product;
    this.opts = opts;
  }

  call(req: TokenApiRequest, signal: AbortSignal): Promise<HttpsAnswer> {
    return httpsCall({
      agent: this.opts.agent,
      base: this.base,
      method: req.method,
      path: req.path,
      headers: { ...(this.token ? { authorization: `${this.scheme} ${this.token}` } : {}), ...req.headers },
      ...(req.body ? { body: req.body } : {}),
      connectTimeoutMs: this.opts.connectTimeoutMs,
      idleTimeoutMs: this.opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      ...(req.maxResponseBytes ? { maxResponseBytes: req.maxResponseBytes } : {}),
      signal,
    });
  }

  /**
   * The JSON of a 2xx answer; any other status throws with the registry's code. `detailOf` pulls the server's own
   * explanation out of an error answer, already made safe with `safeText`.
   */
  readJson(answer: HttpsAnswer, detailOf: (json: unknown) => string | undefined): unknown {
    const json = parseJsonBody(answer.body);
    const s = answer.status;
    if (s >= 200 && s < 300) {
      if (json === undefined) throw this.invalid(`HTTP ${s} with an answer that is not JSON`);
      return json;
    }
    const detail = detailOf(json);
    const params = { server: this.url, status: s };
    if (s === 401 || s === 403) {
      const whose = this.token ? 'the API token' : 'a request without an API token (set `token` in the policy)';
      throw new SandgateError(
        'SERVER_AUTH_FAILED',
        `${this.url}: ${this.product} refused ${whose} (HTTP ${s}${detail ? `: ${detail}` : ''})`,
        { params },
      );
    }
    if (s === 429)
      throw new SandgateError(
        'SERVER_THROTTLED',
        `${this.url}: the server is throttling the agent (HTTP 429${detail ? `: ${detail}` : ''})`,
        { params },
      );
    throw new SandgateError('SERVER_ERROR', `${this.url}: HTTP ${s}${detail ? ` (${detail})` : ''}`, { params });
  }

  parse<T extends z.ZodType>(json: unknown, schema: T): z.infer<T> {
    const r = schema.safeParse(json);
    if (!r.success)
      throw this.invalid(
        `answer does not match the ${this.product} API (${r.error.issues[0]?.path.join('.') || 'answer'}: ${r.error.issues[0]?.message ?? 'invalid'})`,
      );
    return r.data;
  }

  /** Server text goes into messages and logs: bounded, one line, and never carrying our token back out. */
  safeText(s: string): string {
    let t = s.replace(/\s+/g, ' ').trim();
    if (this.token) t = t.split(this.token).join('[token]');
    return t.length > MAX_DETAIL_CHARS ? `${t.slice(0, MAX_DETAIL_CHARS)}…` : t;
  }

  invalid(why: string): SandgateError {
    return new SandgateError('SERVER_RESPONSE_INVALID', `${this.url}: ${why}`, { params: { server: this.url } });
  }
}

/** A response body as JSON, or undefined when it is not JSON. */
export function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
