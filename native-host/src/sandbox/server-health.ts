import type { z } from 'zod';
import type { SandgateError, serverHealthSchema } from '@sandgate/shared';

export type ServerHealth = z.infer<typeof serverHealthSchema>;

/** Per-server health for `status`: the last outcome of each server, in policy order. */
export class ServerHealthBoard {
  private readonly entries: ServerHealth[];

  constructor(servers: ReadonlyArray<{ url: string; kind: string }>) {
    this.entries = servers.map((s) => ({ url: s.url, kind: s.kind, state: 'unknown' }));
  }

  succeeded(url: string, at: Date): void {
    const e = this.find(url);
    if (!e) return;
    e.state = 'healthy';
    e.lastSuccessAt = at.toISOString();
  }

  failed(url: string, err: SandgateError, at: Date): void {
    const e = this.find(url);
    if (!e) return;
    e.state = 'failing';
    e.lastError = { code: err.code, message: err.message, at: at.toISOString() };
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
