import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { SandgateError, type ErrorCode, type Verdict } from '@sandgate/shared';
import type { Clock } from '#native-host/clock.ts';
import { EventLog } from '#native-host/events/event-log.ts';
import { Failover, type FailoverOptions } from '#native-host/sandbox/failover.ts';
import type { SandboxClient } from '#native-host/sandbox/sandbox-client.ts';
import { ServerHealthBoard } from '#native-host/sandbox/server-health.ts';

const START = Date.parse('2026-11-22T09:00:00Z');

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

/**
 * Simulated time for failover and probe tests: `sleep` waits until `run` moves time forward, timers fire in time
 * order (ties in the order they were set), and each fires only after everything the previous one unblocked has run.
 */
export class SimClock implements Clock {
  private t = START;
  private seq = 0;
  private timers: Timer[] = [];
  private readonly rand: number;

  constructor(random = 0.5) {
    this.rand = random;
  }

  now = (): Date => new Date(this.t);
  random = (): number => this.rand;
  /** Simulated milliseconds since the start. */
  elapsed = (): number => this.t - START;

  sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(signal!.reason);
      };
      const timer: Timer = {
        at: this.t + ms,
        seq: this.seq++,
        fire: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.timers.push(timer);
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  /** Moves time forward until `p` settles, and returns its outcome. Fails if `p` waits on something time cannot bring. */
  async run<T>(p: Promise<T>, limitMs = 3_600_000): Promise<T> {
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (;;) {
      await drain();
      if (settled) return p;
      if (!this.fireNext(START + limitMs))
        throw new Error(`still pending at +${this.elapsed()} ms with nothing scheduled that could finish it`);
    }
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    await drain();
    while (this.fireNext(until)) await drain();
    this.t = until;
  }

  private fireNext(limit: number): boolean {
    const next = [...this.timers].sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
    if (!next || next.at > limit) return false;
    this.timers = this.timers.filter((x) => x !== next);
    this.t = Math.max(this.t, next.at);
    next.fire();
    return true;
  }
}

/** Lets every promise chain that does not wait on time run to its end. */
async function drain(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

/**
 * One step of a scripted server: an error code (`SERVER_ERROR_404`: an HTTP status), or a verdict (for `analyse`) /
 * `'ok'` (for `probe`).
 */
export type Step = ErrorCode | `SERVER_ERROR_${number}` | Verdict | 'ok';

export interface ScriptedServer extends SandboxClient {
  /** Replaces the script from the next call on (a server going down or coming back). */
  set(part: 'analyse' | 'probe', script: Step[]): void;
}

/**
 * A server answering from scripts, one step per call (the last step repeats), writing `+<ms> ask|probe <url>` into
 * the shared transcript so the order and timing across servers reads off one list.
 */
export function scripted(url: string, clock: SimClock, transcript: string[], analyse: Step[], probe: Step[] = ['ok']): ScriptedServer {
  const scripts = { analyse, probe };
  const calls = { analyse: 0, probe: 0 };
  const step = (part: 'analyse' | 'probe'): Step => {
    transcript.push(`+${clock.elapsed()} ${part === 'analyse' ? 'ask' : 'probe'} ${url}`);
    const s = scripts[part];
    return s[Math.min(calls[part]++, s.length - 1)]!;
  };
  const fail = (code: string, part: string) => {
    const status = /^SERVER_ERROR_(\d+)$/.exec(code)?.[1];
    if (status) return new SandgateError('SERVER_ERROR', `${url}: HTTP ${status}`, { params: { server: url, status: Number(status) } });
    return new SandgateError(code as ErrorCode, `${url} failed (${part})`, { params: { server: url } });
  };
  return {
    url,
    kind: 'sandgate',
    analyse: async () => {
      const s = step('analyse');
      if (typeof s === 'string') throw fail(s, 'analyse');
      return s;
    },
    probe: async () => {
      const s = step('probe');
      if (typeof s === 'string' && s !== 'ok') throw fail(s, 'probe');
    },
    close: () => {},
    set: (part, script) => {
      scripts[part] = script;
      calls[part] = 0;
    },
  };
}

export const clean = (server: string): Verdict => ({ level: 'clean', server });

export const A = 'https://a.example:1';
export const B = 'https://b.example:1';
export const go = () => ({ signal: new AbortController().signal });

/**
 * Failovers for one test file: a fresh event log per test, and every failover made closed afterwards (its prober
 * stopped). `events()` is the current test's log.
 */
export function useFailovers(prefix: string) {
  let dir = '';
  let log: EventLog | undefined;
  const open: Failover[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    log = new EventLog(dir);
  });
  afterEach(() => {
    while (open.length) open.pop()!.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    events: (): EventLog => log!,
    failover(
      clients: SandboxClient[],
      clock: SimClock,
      extra: Partial<Pick<FailoverOptions, 'backoffBaseMs' | 'backoffMaxMs' | 'probeBaseMs' | 'probeMaxMs'>> = {},
    ) {
      const health = new ServerHealthBoard(clients);
      const f = new Failover({ clients, health, events: log!, clock, ...extra });
      open.push(f);
      return { f, health };
    },
  };
}
