import { SandgateError, type ErrorCode } from '@sandgate/shared';
import type { Logger } from '../log.ts';
import { ServerHealthBoard, type ServerHealth } from '../sandbox/server-health.ts';

/**
 * Failures of a console process or the way to it, after which the request goes to the next console URL at once and
 * the failed one is passed over until a probe reaches it. Everything else is the console's answer (revoked, rate
 * limited, a refused batch): every process of one console gives the same, since they share one database.
 */
const CONSOLE_FAULTS = new Set<ErrorCode>([
  'CONSOLE_UNREACHABLE',
  'CONSOLE_RESPONSE_INVALID',
  'TLS_CERTIFICATE_REJECTED',
  'TLS_CERTIFICATE_EXPIRED',
  'TLS_HOSTNAME_MISMATCH',
  'TLS_HANDSHAKE_FAILED',
  // A process that lost its database answers these; another one may still have it.
  'DATABASE_UNAVAILABLE',
  'INTERNAL',
]);

export function isConsoleFault(err: unknown): err is SandgateError {
  return err instanceof SandgateError && CONSOLE_FAULTS.has(err.code);
}

export interface ConsoleEndpointsOptions {
  /** The URL the agent enrolled with. */
  enrollmentUrl: string;
  /** `console.urls` of the policy in force, if any. */
  policyUrls?: readonly string[] | undefined;
  /** Whether a console process answers at `url` (pinned TLS); throws when it does not. */
  probe: (url: URL, signal: AbortSignal) => Promise<void>;
  log: Logger;
  /** Probes of a skipped URL: first pause, doubling to the ceiling (1 s and 60 s), jittered to 50–100 %. */
  probeBaseMs?: number;
  probeMaxMs?: number;
}

/**
 * The console URLs an agent may use and what it remembers of each: the same health memory as the sandbox servers
 * (`ServerHealthBoard`). Requests go to the first URL in order that is not skipped; a URL that failed with a
 * transport fault is skipped until its probe (`GET /agent/v1/ca`, pinned TLS) succeeds, so the agent returns to its
 * preferred process once it is back. When every URL is skipped each is still tried, in order.
 */
export class ConsoleEndpoints {
  private readonly o: ConsoleEndpointsOptions;
  private urls: string[];
  private health: ServerHealthBoard;
  private readonly probing = new Map<string, AbortController>();
  private closed = false;

  constructor(o: ConsoleEndpointsOptions) {
    this.o = o;
    this.urls = listOf(o.enrollmentUrl, o.policyUrls);
    this.health = board(this.urls);
  }

  /** The policy's `console.urls` changed: a URL kept keeps its health, a new one starts unknown. */
  setPolicyUrls(policyUrls: readonly string[] | undefined): void {
    const next = listOf(this.o.enrollmentUrl, policyUrls);
    if (next.join(' ') === this.urls.join(' ')) return;
    const before = new Map(this.health.snapshot().map((h) => [h.url, h]));
    this.urls = next;
    this.health = board(next);
    for (const url of next) {
      const h = before.get(url);
      if (h?.state === 'healthy') this.health.succeeded(url, new Date(h.lastSuccessAt ?? Date.now()));
      else if (
        h?.skippedUntilProbe &&
        h.lastError &&
        this.health.failed(url, new SandgateError('CONSOLE_UNREACHABLE', h.lastError.message), new Date(h.lastError.at))
      )
        this.watch(url);
    }
    for (const [url, probe] of this.probing) {
      if (!next.includes(url)) {
        probe.abort();
        this.probing.delete(url);
      }
    }
    this.o.log.info('console URLs', { urls: next });
  }

  /** The URLs to try for one request: those not skipped, in order, then the skipped ones. */
  order(): URL[] {
    const skipped = this.urls.filter((u) => this.health.isSkipped(u));
    return [...this.urls.filter((u) => !this.health.isSkipped(u)), ...skipped].map((u) => new URL(u));
  }

  succeeded(url: URL): void {
    const key = this.keyOf(url);
    if (key && this.health.succeeded(key, new Date())) this.o.log.info('console URL reachable again', { url: key });
  }

  /** Records a failure; a transport fault starts a skip and the probes that end it. */
  failed(url: URL, err: SandgateError): void {
    const key = this.keyOf(url);
    if (!key || !this.health.failed(key, err, new Date())) return;
    this.o.log.warn('console URL skipped until a probe reaches it', { url: key, code: err.code });
    this.watch(key);
  }

  snapshot(): ServerHealth[] {
    return this.health.snapshot();
  }

  close(): void {
    this.closed = true;
    for (const p of this.probing.values()) p.abort();
    this.probing.clear();
  }

  private keyOf(url: URL): string | undefined {
    return this.urls.find((u) => new URL(u).href === url.href);
  }

  private watch(url: string): void {
    if (this.closed || this.probing.has(url)) return;
    const stop = new AbortController();
    this.probing.set(url, stop);
    const base = this.o.probeBaseMs ?? 1000;
    const max = this.o.probeMaxMs ?? 60_000;
    void (async () => {
      for (let n = 0; !stop.signal.aborted && this.health.isSkipped(url); n++) {
        const ceiling = Math.min(max, base * 2 ** Math.min(n, 30));
        const wait = Math.round(ceiling * (0.5 + Math.random() / 2));
        this.health.probeScheduled(url, new Date(Date.now() + wait));
        await sleep(wait, stop.signal);
        if (stop.signal.aborted) break;
        try {
          await this.o.probe(new URL(url), stop.signal);
          this.succeeded(new URL(url));
        } catch (err) {
          this.health.probeFailed(
            url,
            err instanceof SandgateError ? err : new SandgateError('CONSOLE_UNREACHABLE', String(err)),
            new Date(),
          );
        }
      }
      if (this.probing.get(url) === stop) this.probing.delete(url);
    })();
  }
}

function listOf(enrollmentUrl: string, policyUrls: readonly string[] | undefined): string[] {
  const list = [...(policyUrls ?? [])];
  const same = (a: string, b: string) => new URL(a).href === new URL(b).href;
  if (!list.some((u) => same(u, enrollmentUrl))) list.push(enrollmentUrl);
  return list.filter((u, i) => list.findIndex((v) => same(u, v)) === i);
}

function board(urls: string[]): ServerHealthBoard {
  return new ServerHealthBoard(
    urls.map((url) => ({ url, kind: 'console' })),
    { skips: isConsoleFault },
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
