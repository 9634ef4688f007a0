import { SandgateError } from '@sandgate/shared';
import type { EventLog } from '../events/event-log.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { Clock } from '../clock.ts';
import { toServerError } from './network-error-code.ts';
import { roundBackoffMs } from './retry-policy.ts';
import type { SandboxClient } from './sandbox-client.ts';
import type { ServerHealthBoard } from './server-health.ts';

export interface ServerProberOptions {
  clients: SandboxClient[];
  health: ServerHealthBoard;
  events: EventLog;
  clock: Clock;
  log?: Logger;
  /** First pause before probing a server that just failed; doubles per probe up to `maxMs`, jittered to 50–100 %. */
  baseMs?: number;
  maxMs?: number;
  /** A probe that has not answered after this long counts as failed. */
  timeoutMs?: number;
  /** Called after a server is back, so whoever shows "no server reachable" can say otherwise at once. */
  onRecovered?: (url: string) => void;
}

interface Watch {
  /** Probes since the last request that succeeded on the server: sets the next pause. */
  streak: number;
  loop?: AbortController;
}

const DEFAULT_PROBE_TIMEOUT_MS = 10_000;

/**
 * Brings skipped servers back: while a server is skipped, asks its health endpoint after a pause that doubles with
 * each probe, and when it answers, marks it healthy and records `server-recovered`. The pause resets only when a real
 * request succeeds, so a server that passes its health check but fails every analysis is not let back every second.
 */
export class ServerProber {
  private readonly o: ServerProberOptions;
  private readonly log: Logger;
  private readonly byUrl = new Map<string, SandboxClient>();
  private readonly watches = new Map<string, Watch>();
  private readonly stop = new AbortController();

  constructor(opts: ServerProberOptions) {
    this.o = opts;
    this.log = opts.log ?? silentLogger;
    for (const c of opts.clients) this.byUrl.set(c.url, c);
  }

  /** A request just made `url` skipped: (re)start its probes. */
  watch(url: string): void {
    const client = this.byUrl.get(url);
    if (!client || this.stop.signal.aborted) return;
    const w = this.watchOf(url);
    w.loop?.abort();
    const loop = new AbortController();
    w.loop = loop;
    void this.probeUntilHealthy(client, w, loop);
  }

  /** A request succeeded on `url`; `recovered` when that ended a skip (the board said so). */
  requestSucceeded(url: string, recovered: boolean): void {
    const w = this.watchOf(url);
    w.streak = 0;
    w.loop?.abort();
    if (recovered) this.announce(url, 'answered a request again');
  }

  close(): void {
    this.stop.abort();
  }

  private async probeUntilHealthy(client: SandboxClient, w: Watch, loop: AbortController): Promise<void> {
    const { health, clock } = this.o;
    const signal = AbortSignal.any([this.stop.signal, loop.signal]);
    const timeoutMs = this.o.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    try {
      while (health.isSkipped(client.url)) {
        w.streak++;
        const pause = roundBackoffMs(w.streak, clock.random(), this.o.baseMs, this.o.maxMs);
        health.probeScheduled(client.url, new Date(clock.now().getTime() + pause));
        await clock.sleep(pause, signal);
        if (!health.isSkipped(client.url)) return;
        const deadline = AbortSignal.timeout(timeoutMs);
        try {
          await client.probe(AbortSignal.any([signal, deadline]));
        } catch (raw) {
          if (signal.aborted) return;
          const err = deadline.aborted
            ? new SandgateError('SERVER_TIMEOUT', `${client.url}: no answer to the health probe within ${timeoutMs} ms`, {
                params: { server: client.url },
              })
            : toServerError(raw, client.url);
          health.probeFailed(client.url, err, clock.now());
          this.log.debug('probe failed', { server: client.url, code: err.code });
          continue;
        }
        if (signal.aborted) return;
        if (health.succeeded(client.url, clock.now())) this.announce(client.url, 'answered its health probe');
        return;
      }
    } catch (err) {
      // Aborted: the agent is stopping, a request succeeded, or a new failure restarted the probes. Anything else
      // (the event log unwritable) ends this server's probes until its next failure; requests still reach it last.
      if (!signal.aborted)
        this.log.warn('probing stopped', { server: client.url, error: err instanceof Error ? err.message : String(err) });
    } finally {
      if (w.loop === loop) delete w.loop;
    }
  }

  private announce(url: string, how: string): void {
    const message = `${url} ${how}; requests go to it again`;
    this.o.events.append({ type: 'server-recovered', server: url, message }, this.o.clock.now());
    this.log.info('server recovered', { server: url });
    this.o.onRecovered?.(url);
  }

  private watchOf(url: string): Watch {
    let w = this.watches.get(url);
    if (!w) this.watches.set(url, (w = { streak: 0 }));
    return w;
  }
}
