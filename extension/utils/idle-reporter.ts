import type { z } from 'zod';
import { idleStateSchema, reportIdleResultSchema } from '@sandgate/shared';
import type { AgentConnection } from './agent-connection.ts';
import type { HostClient } from './host-client.ts';

/** `chrome.idle` / `browser.idle` as far as the reporter uses it. Firefox only ever says `active` or `idle`. */
export interface IdleApiLike {
  queryState(detectionIntervalInSeconds: number): Promise<string>;
  onStateChanged: { addListener(listener: (newState: string) => void): void };
}

export type ReportedIdleState = z.infer<typeof idleStateSchema>;

/** Seconds without input before `queryState` says `idle`: the same as `onStateChanged`'s default threshold. */
export const IDLE_DETECTION_SECONDS = 60;
/**
 * The agent forgets a report after 2 minutes (`ReportedIdleSource`, ttlMs in native-host/src/tasks/task-runner.ts), so
 * a browser that closed cannot keep the machine "away". Renewing at half that leaves room for one late renewal.
 */
export const IDLE_RENEW_MS = 60_000;

export interface IdleReporterOptions {
  idle: IdleApiLike;
  client: Pick<HostClient, 'hasCapability' | 'request' | 'onConnectionChange'>;
  renewMs?: number;
  /** Lets the background's `idle()` wait for reports in flight. */
  track?: (work: Promise<unknown>) => void;
  warn?: (message: string) => void;
}

/**
 * Tells the agent whether the screen is locked (`report-idle`), for IOC scan tasks that run only then: on every
 * connection, on every `idle.onStateChanged`, and again every {@link IDLE_RENEW_MS} while the port is open. Only an
 * agent that announced `idle-report` hears it. The renewal uses a plain interval rather than `alarms` (a permission we
 * do not otherwise need): it only has to run while the native port is open, and the open port keeps the worker alive.
 * Failures are logged, never shown to the person: a missed report only delays an idle scan.
 */
export class IdleReporter {
  readonly #opts: Required<Omit<IdleReporterOptions, 'track'>> & Pick<IdleReporterOptions, 'track'>;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Bumped by every state change, so a `queryState` answer that arrives after a newer event is dropped. */
  #generation = 0;
  #started = false;

  constructor(options: IdleReporterOptions) {
    this.#opts = { renewMs: IDLE_RENEW_MS, warn: (m) => console.warn(`[sandgate] ${m}`), ...options };
  }

  /** Registers the listeners; call in the worker's first turn so a lock event can wake it. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#opts.idle.onStateChanged.addListener((raw) => {
      this.#generation++;
      const state = idleStateSchema.safeParse(raw);
      if (state.success) this.#run(this.#send(state.data));
      else this.#opts.warn('idle: ignored an unknown idle state from the browser');
    });
    this.#opts.client.onConnectionChange((connection) => this.#onConnection(connection));
  }

  stop(): void {
    this.#stopRenewal();
  }

  #onConnection(connection: AgentConnection): void {
    this.#stopRenewal();
    if (connection.state !== 'connected' || !this.#opts.client.hasCapability('idle-report')) return;
    this.#run(this.#queryAndSend());
    this.#timer = setInterval(() => this.#run(this.#queryAndSend()), this.#opts.renewMs);
  }

  #stopRenewal(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #queryAndSend(): Promise<void> {
    const generation = this.#generation;
    const state = idleStateSchema.parse(await this.#opts.idle.queryState(IDLE_DETECTION_SECONDS));
    if (generation !== this.#generation) return;
    await this.#send(state);
  }

  async #send(state: ReportedIdleState): Promise<void> {
    if (!this.#opts.client.hasCapability('idle-report')) return;
    await this.#opts.client.request('report-idle', { state }, reportIdleResultSchema);
  }

  #run(work: Promise<void>): void {
    const guarded = work.catch((err: unknown) =>
      this.#opts.warn(`idle: could not report the idle state: ${err instanceof Error ? err.message : String(err)}`),
    );
    this.#opts.track?.(guarded);
  }
}
