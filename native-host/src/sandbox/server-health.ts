import type { z } from 'zod';
import type { SandgateError, serverHealthSchema } from '@sandgate/shared';
import { skipsServer } from './retry-policy.ts';

export type ServerHealth = z.infer<typeof serverHealthSchema>;

/**
 * Per-server health, in policy order: what `status` shows, and which servers requests pass over. A server that failed
 * with a transport fault stays skipped until a request or a health probe succeeds on it.
 */
export class ServerHealthBoard {
  private readonly entries: ServerHealth[];
  private readonly skips: (err: SandgateError) => boolean;

  /**
   * `skips`: which failures pass a server over until a probe succeeds; the sandbox servers' rule by default (the
   * console channel brings its own, for the console's codes).
   */
  constructor(servers: ReadonlyArray<{ url: string; kind: string }>, o: { skips?: (err: SandgateError) => boolean } = {}) {
    this.entries = servers.map((s) => ({ url: s.url, kind: s.kind, state: 'unknown' }));
    this.skips = o.skips ?? skipsServer;
  }

  /** Records a success (a request or a probe). True when this ends a skip: the server has recovered. */
  succeeded(url: string, at: Date): boolean {
    const e = this.find(url);
    if (!e) return false;
    const recovered = e.skippedUntilProbe === true;
    e.state = 'healthy';
    e.lastSuccessAt = at.toISOString();
    delete e.skippedUntilProbe;
    delete e.nextProbeAt;
    delete e.skippedRequests;
    return recovered;
  }

  /** Records a failed request. True when this starts a skip: the caller arranges the probes. */
  failed(url: string, err: SandgateError, at: Date): boolean {
    const e = this.find(url);
    if (!e) return false;
    e.state = 'failing';
    e.lastError = { code: err.code, message: err.message, at: at.toISOString() };
    if (e.skippedUntilProbe || !this.skips(err)) return false;
    e.skippedUntilProbe = true;
    e.skippedRequests = 0;
    return true;
  }

  /** A failed probe keeps the skip and updates the reason shown. */
  probeFailed(url: string, err: SandgateError, at: Date): void {
    const e = this.find(url);
    if (!e?.skippedUntilProbe) return;
    e.lastError = { code: err.code, message: err.message, at: at.toISOString() };
  }

  probeScheduled(url: string, at: Date): void {
    const e = this.find(url);
    if (e?.skippedUntilProbe) e.nextProbeAt = at.toISOString();
  }

  isSkipped(url: string): boolean {
    return this.find(url)?.skippedUntilProbe === true;
  }

  /** A request was answered elsewhere without waiting for this skipped server. */
  passedOver(url: string): void {
    const e = this.find(url);
    if (e?.skippedUntilProbe) e.skippedRequests = (e.skippedRequests ?? 0) + 1;
  }

  snapshot(): ServerHealth[] {
    return this.entries.map((e) => structuredClone(e));
  }

  /** False only when every server's last attempt failed: nothing the agent sends can be judged right now. */
  anyReachable(): boolean {
    return this.entries.some((e) => e.state !== 'failing');
  }

  anyHealthy(): boolean {
    return this.entries.some((e) => e.state === 'healthy');
  }

  private find(url: string): ServerHealth | undefined {
    return this.entries.find((e) => e.url === url);
  }
}
