import { SandgateError, type Verdict } from '@sandgate/shared';
import type { EventLog } from '../events/event-log.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { Clock } from '../clock.ts';
import { toServerError } from './network-error-code.ts';
import { failoverDecision, roundBackoffMs } from './retry-policy.ts';
import type { QueuedObject, SandboxClient } from './sandbox-client.ts';
import type { ServerHealthBoard } from './server-health.ts';

export interface FailoverOptions {
  clients: SandboxClient[];
  health: ServerHealthBoard;
  events: EventLog;
  clock: Clock;
  log?: Logger;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export interface FailoverContext {
  signal: AbortSignal;
  jobId?: string;
  /** Called after each full round in which every server failed, before the pause. */
  onRoundFailed?: (err: SandgateError, round: number) => void | Promise<void>;
}

/**
 * Asks the servers in policy order and moves to the next one at once when one fails; only after a whole round has
 * failed does it pause (doubling, with jitter so many agents do not retry in step), then starts over. It gives up only
 * when a server says the object cannot be analysed, or when the signal aborts (the agent is stopping).
 */
export class Failover {
  private readonly o: FailoverOptions;
  private readonly log: Logger;

  constructor(opts: FailoverOptions) {
    if (opts.clients.length === 0) throw new SandgateError('NO_SERVERS');
    this.o = opts;
    this.log = opts.log ?? silentLogger;
  }

  async analyse(obj: QueuedObject, ctx: FailoverContext): Promise<Verdict> {
    for (let round = 1; ; round++) {
      let last: SandgateError | undefined;
      for (const client of this.o.clients) {
        ctx.signal.throwIfAborted();
        try {
          const verdict = await client.analyse(obj, ctx.signal);
          this.o.health.succeeded(client.url, this.o.clock.now());
          return verdict;
        } catch (raw) {
          ctx.signal.throwIfAborted();
          const err = toServerError(raw, client.url);
          last = err;
          this.o.health.failed(client.url, err, this.o.clock.now());
          this.o.events.append(
            {
              type: 'server-error',
              code: err.code,
              message: err.message,
              server: client.url,
              sha256: obj.sha256,
              ...(ctx.jobId ? { jobId: ctx.jobId } : {}),
            },
            this.o.clock.now(),
          );
          this.log.warn('server failed', { server: client.url, code: err.code });
          if (failoverDecision(err.code) === 'fail-job') throw err;
        }
      }
      const all = new SandgateError('ALL_SERVERS_FAILED', `Every sandbox server failed (last: ${last?.message ?? 'unknown'}); the request stays queued`, {
        params: { round, lastCode: last?.code },
      });
      await ctx.onRoundFailed?.(all, round);
      await this.o.clock.sleep(roundBackoffMs(round, this.o.clock.random(), this.o.backoffBaseMs, this.o.backoffMaxMs), ctx.signal);
    }
  }

  close(): void {
    for (const c of this.o.clients) c.close();
  }
}
