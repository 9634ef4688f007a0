import { SandgateError, type Verdict } from '@sandgate/shared';
import type { EventLog } from '../events/event-log.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { Clock } from '../clock.ts';
import { toServerError } from './network-error-code.ts';
import { MAX_ANALYSIS_ATTEMPTS, failoverDecision, roundBackoffMs, type FailoverDecision } from './retry-policy.ts';
import type { QueuedObject, SandboxClient } from './sandbox-client.ts';
import type { ServerHealthBoard } from './server-health.ts';
import { ServerProber } from './server-prober.ts';

export interface FailoverOptions {
  clients: SandboxClient[];
  health: ServerHealthBoard;
  events: EventLog;
  clock: Clock;
  log?: Logger;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Health probes of skipped servers: first pause, and the ceiling it doubles up to (defaults 1 s and 60 s). */
  probeBaseMs?: number;
  probeMaxMs?: number;
  probeTimeoutMs?: number;
  onServerRecovered?: (url: string) => void;
}

export interface FailoverContext {
  signal: AbortSignal;
  jobId?: string;
  /** Called after each full round in which every server failed, before the pause. */
  onRoundFailed?: (err: SandgateError, round: number) => void | Promise<void>;
}

type Attempt = { verdict: Verdict } | { error: SandgateError; again?: true };

/** Analyses of one object that failed on the server side, across servers and rounds of one `analyse` call. */
interface AnalysisTally {
  failed: number;
}

/**
 * Asks the servers in policy order and moves to the next one at once when one fails; only after a whole round has
 * failed does it pause (doubling, with jitter so many agents do not retry in step), then starts over. It gives up only
 * when a server says the object cannot be analysed, or when the signal aborts (the agent is stopping).
 *
 * A server that just failed with a transport fault is passed over by later requests (no connection, no timeout paid)
 * until its health probe succeeds; it is still asked, last, when no other server gave an answer in the round.
 *
 * A server whose analysis of the object failed is asked again at once, and its client uploads the object afresh
 * (a look-up that finds a failed analysis never counts as an answer); after MAX_ANALYSIS_ATTEMPTS failed analyses the
 * job ends ANALYSIS_FAILED, saying how many were made.
 */
export class Failover {
  private readonly o: FailoverOptions;
  private readonly log: Logger;
  private readonly prober: ServerProber;

  constructor(opts: FailoverOptions) {
    if (opts.clients.length === 0) throw new SandgateError('NO_SERVERS');
    this.o = opts;
    this.log = opts.log ?? silentLogger;
    this.prober = new ServerProber({
      clients: opts.clients,
      health: opts.health,
      events: opts.events,
      clock: opts.clock,
      log: this.log.child('prober'),
      ...(opts.probeBaseMs !== undefined ? { baseMs: opts.probeBaseMs } : {}),
      ...(opts.probeMaxMs !== undefined ? { maxMs: opts.probeMaxMs } : {}),
      ...(opts.probeTimeoutMs !== undefined ? { timeoutMs: opts.probeTimeoutMs } : {}),
      ...(opts.onServerRecovered ? { onRecovered: opts.onServerRecovered } : {}),
    });
  }

  async analyse(obj: QueuedObject, ctx: FailoverContext): Promise<Verdict> {
    const tally: AnalysisTally = { failed: 0 };
    for (let round = 1; ; round++) {
      let last: SandgateError | undefined;
      const passedOver: SandboxClient[] = [];
      for (const client of this.o.clients) {
        ctx.signal.throwIfAborted();
        if (this.o.health.isSkipped(client.url)) {
          passedOver.push(client);
          continue;
        }
        const r = await this.askUntilAnswered(client, obj, ctx, tally);
        if ('verdict' in r) {
          for (const c of passedOver) this.o.health.passedOver(c.url);
          return r.verdict;
        }
        last = r.error;
      }
      // Nobody else answered: a skipped server is better than a pause, and with every server skipped this is what
      // keeps a round happening at all.
      for (const client of passedOver) {
        ctx.signal.throwIfAborted();
        const r = await this.askUntilAnswered(client, obj, ctx, tally);
        if ('verdict' in r) return r.verdict;
        last = r.error;
      }
      const all = new SandgateError(
        'ALL_SERVERS_FAILED',
        `Every sandbox server failed (last: ${last?.message ?? 'unknown'}); the request stays queued`,
        {
          params: { round, lastCode: last?.code },
        },
      );
      await ctx.onRoundFailed?.(all, round);
      await this.o.clock.sleep(roundBackoffMs(round, this.o.clock.random(), this.o.backoffBaseMs, this.o.backoffMaxMs), ctx.signal);
    }
  }

  close(): void {
    this.prober.close();
    for (const c of this.o.clients) c.close();
  }

  /** Asks `client`, and asks it again while its analyses fail within the bound (`ask` throws past it). */
  private async askUntilAnswered(client: SandboxClient, obj: QueuedObject, ctx: FailoverContext, tally: AnalysisTally): Promise<Attempt> {
    for (;;) {
      const r = await this.ask(client, obj, ctx, tally);
      if (!('again' in r)) return r;
      ctx.signal.throwIfAborted();
    }
  }

  private async ask(client: SandboxClient, obj: QueuedObject, ctx: FailoverContext, tally: AnalysisTally): Promise<Attempt> {
    try {
      const verdict = await client.analyse(obj, ctx.signal);
      this.prober.requestSucceeded(client.url, this.o.health.succeeded(client.url, this.o.clock.now()));
      return { verdict };
    } catch (raw) {
      ctx.signal.throwIfAborted();
      const failure = toServerError(raw, client.url);
      const analysisFailed = failure.code === 'ANALYSIS_FAILED';
      if (analysisFailed) tally.failed++;
      const decision = failoverDecision(failure.code, tally.failed);
      const err = analysisFailed ? counted(failure, tally.failed, decision) : failure;
      this.o.events.append(
        {
          type: 'server-error',
          code: err.code,
          message: err.message,
          server: client.url,
          sha256: obj.sha256,
          ...(ctx.jobId ? { jobId: ctx.jobId } : {}),
          ...(analysisFailed ? { attempts: tally.failed } : {}),
        },
        this.o.clock.now(),
      );
      this.log.warn('server failed', { server: client.url, code: err.code });
      if (this.o.health.failed(client.url, err, this.o.clock.now())) {
        // Once per failure, not per request: the skip itself is visible in `status`.
        this.log.warn('server skipped until a health probe succeeds', { server: client.url, code: 'SERVER_SKIPPED', cause: err.code });
        this.prober.watch(client.url);
      }
      if (decision === 'fail-job') throw err;
      return decision === 'analyse-again' ? { error: err, again: true } : { error: err };
    }
  }
}

/** A failed analysis, said with how many have failed and what happens next; `params.attempts` carries the count. */
function counted(err: SandgateError, failed: number, decision: FailoverDecision): SandgateError {
  const next = decision === 'fail-job' ? 'giving up' : 'the object is uploaded again';
  return new SandgateError('ANALYSIS_FAILED', `${err.message}; ${failed} of at most ${MAX_ANALYSIS_ATTEMPTS} analyses failed, ${next}`, {
    params: { ...err.params, attempts: failed, maxAttempts: MAX_ANALYSIS_ATTEMPTS },
    cause: err,
  });
}
