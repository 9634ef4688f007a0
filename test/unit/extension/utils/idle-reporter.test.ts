import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { PROTOCOL_VERSION } from '@sandgate/shared';
import { HostClient } from '../../../../extension/utils/host-client.ts';
import { IDLE_DETECTION_SECONDS, IDLE_RENEW_MS, IdleReporter, type IdleApiLike } from '../../../../extension/utils/idle-reporter.ts';
import { startSandgateBackground } from '../../../../extension/utils/sandgate-background.ts';
import { FakeNativeMessaging, acceptingAgent, type AgentScript } from '../helpers/fake-native-messaging.ts';
import { FakeDownloads } from '../helpers/fake-downloads.ts';
import { englishTranslate } from '../helpers/translate.ts';

/** `chrome.idle` as the person's machine drives it: lock, unlock, walk away. */
class FakeIdle implements IdleApiLike {
  state = 'active';
  readonly queries: number[] = [];
  /** When set, the next `queryState` answers only once the test calls {@link releaseHeld}. */
  holdNext = false;
  fail: Error | undefined;
  readonly #listeners: ((state: string) => void)[] = [];
  #held: (() => void) | undefined;

  readonly queryState = async (seconds: number): Promise<string> => {
    this.queries.push(seconds);
    if (this.fail) throw this.fail;
    const answer = this.state;
    if (this.holdNext) {
      this.holdNext = false;
      await new Promise<void>((resolve) => (this.#held = resolve));
    }
    return answer;
  };

  releaseHeld(): void {
    this.#held?.();
    this.#held = undefined;
  }

  readonly onStateChanged = { addListener: (l: (state: string) => void) => void this.#listeners.push(l) };

  get listenerCount(): number {
    return this.#listeners.length;
  }

  change(state: string): void {
    this.state = state;
    for (const l of this.#listeners) l(state);
  }
}

const idleAgent: AgentScript = (request) => {
  if (request.type === 'hello')
    return {
      data: { v: PROTOCOL_VERSION, appVersion: '0.1.0', capabilities: ['submit-download', 'verdict-push', 'status', 'idle-report'] },
    };
  if (request.type === 'report-idle') return { data: {} };
  return acceptingAgent(request);
};

/** An agent from before issue 5: it knows nothing of idle reports (and the bridge would refuse them). */
const olderAgent: AgentScript = (request) =>
  request.type === 'report-idle'
    ? { error: { code: 'REQUEST_NOT_ALLOWED', message: 'unknown request', retryable: false } }
    : acceptingAgent(request);

function reports(native: FakeNativeMessaging): string[] {
  return native.allRequests().flatMap((r) => (r.type === 'report-idle' ? [r.payload.state] : []));
}

function setup(native: FakeNativeMessaging, idle = new FakeIdle()) {
  const warnings: string[] = [];
  const client = new HostClient({
    connect: native.connect,
    lastErrorMessage: native.lastErrorMessage,
    clientName: 'test',
    random: () => 1,
    warn: (m) => warnings.push(m),
  });
  const reporter = new IdleReporter({ idle, client, warn: (m) => warnings.push(m) });
  reporter.start();
  client.start();
  return { client, reporter, idle, warnings };
}

/** Lets port deliveries and promise chains run without moving the clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('idle reporter: the agent learns when the screen is locked', () => {
  const stops: (() => void)[] = [];
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
    vi.useRealTimers();
  });
  const track = (s: ReturnType<typeof setup>) => {
    stops.push(() => {
      s.reporter.stop();
      s.client.stop();
    });
    return s;
  };

  it('an agent that takes idle reports hears the state on connect, then every lock and unlock as it happens', async () => {
    const native = new FakeNativeMessaging(idleAgent);
    const idle = new FakeIdle();
    idle.state = 'locked'; // the browser starts while the screen is already locked
    const { warnings } = track(setup(native, idle));
    await settle();
    expect(idle.queries).toEqual([IDLE_DETECTION_SECONDS]);
    expect(reports(native)).toEqual(['locked']);

    idle.change('active');
    await settle();
    idle.change('idle');
    await settle();
    idle.change('locked');
    await settle();
    expect(reports(native)).toEqual(['locked', 'active', 'idle', 'locked']);
    expect(warnings).toEqual([]);
  });

  it('an agent without the idle-report capability is never sent a report: not on connect, not on a lock, not on renewal', async () => {
    const native = new FakeNativeMessaging(olderAgent);
    const { client, idle, warnings } = track(setup(native));
    await settle();
    expect(client.connection.state).toBe('connected');
    idle.change('locked');
    await vi.advanceTimersByTimeAsync(5 * IDLE_RENEW_MS);
    expect(reports(native)).toEqual([]);
    expect(idle.queries).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('a lock that lasts is renewed every minute, well within the 2 minutes after which the agent forgets it', async () => {
    const native = new FakeNativeMessaging(idleAgent);
    const { idle } = track(setup(native));
    await settle();
    idle.change('locked');
    await settle();
    expect(reports(native)).toEqual(['active', 'locked']);
    await vi.advanceTimersByTimeAsync(IDLE_RENEW_MS - 1);
    expect(reports(native)).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(reports(native)).toEqual(['active', 'locked', 'locked']);
    await vi.advanceTimersByTimeAsync(3 * IDLE_RENEW_MS);
    expect(reports(native)).toEqual(['active', 'locked', 'locked', 'locked', 'locked', 'locked']);
    // each renewal asks the browser again rather than repeating what it said last
    expect(idle.queries).toHaveLength(5);
    expect(IDLE_RENEW_MS).toBeLessThanOrEqual(60_000);
  });

  it('while the agent is gone nothing is sent; after the reconnect it hears the state of that moment, and renewal goes on', async () => {
    const native = new FakeNativeMessaging(idleAgent);
    const { client, idle, warnings } = track(setup(native));
    await settle();
    expect(reports(native)).toEqual(['active']);

    native.current!.closeFromHost('Native host has exited.');
    await settle();
    expect(client.connection.state).toBe('not-running');
    // the person locks the screen while the agent restarts: nothing to send it to, and no renewal on a dead port
    idle.change('locked');
    await vi.advanceTimersByTimeAsync(999);
    expect(native.ports).toHaveLength(1);
    expect(reports(native)).toEqual(['active']);

    await vi.advanceTimersByTimeAsync(1); // backoff: the second port opens after 1 s
    expect(native.ports).toHaveLength(2);
    expect(client.connection.state).toBe('connected');
    expect(
      native.ports[1]!.requests()
        .filter((r) => r.type === 'report-idle')
        .map((r) => r.payload),
    ).toEqual([{ state: 'locked' }]);

    await vi.advanceTimersByTimeAsync(IDLE_RENEW_MS);
    expect(native.ports[1]!.requests().filter((r) => r.type === 'report-idle')).toHaveLength(2);
    // the first port never saw a renewal after it closed
    expect(native.ports[0]!.requests().filter((r) => r.type === 'report-idle')).toHaveLength(1);
    expect(warnings).toEqual([]);
  });

  it('a lock that happens while the browser is still answering the connect-time question is not overwritten by the older answer', async () => {
    const native = new FakeNativeMessaging(idleAgent);
    const idle = new FakeIdle();
    idle.holdNext = true;
    track(setup(native, idle));
    await settle();
    expect(idle.queries).toHaveLength(1); // the browser read "active" but has not answered yet
    idle.change('locked');
    await settle();
    idle.releaseHeld();
    await settle();
    expect(reports(native)).toEqual(['locked']);
  });

  it('failures are logged and never stop later reports: an agent that refuses one, a browser whose query fails, an unknown state', async () => {
    let refuse = true;
    const native = new FakeNativeMessaging((r) =>
      r.type === 'report-idle' && refuse ? { error: { code: 'INTERNAL', message: 'task store busy', retryable: true } } : idleAgent(r),
    );
    const idle = new FakeIdle();
    idle.fail = new Error('idle API unavailable');
    const { warnings } = track(setup(native, idle));
    await settle();
    expect(reports(native)).toEqual([]);
    expect(warnings.at(-1)).toMatch(/idle: could not report the idle state: idle API unavailable/);

    idle.change('locked');
    await settle();
    expect(reports(native)).toEqual(['locked']);
    expect(warnings.at(-1)).toMatch(/task store busy/);

    idle.change('screensaver'); // not a state the protocol knows: dropped, not sent
    await settle();
    expect(reports(native)).toEqual(['locked']);
    expect(warnings.at(-1)).toMatch(/unknown idle state/);

    refuse = false;
    idle.fail = undefined;
    idle.state = 'locked';
    await vi.advanceTimersByTimeAsync(IDLE_RENEW_MS);
    expect(reports(native)).toEqual(['locked', 'locked']);
  });
});

describe('idle reporter in the service worker', () => {
  beforeEach(() => fakeBrowser.reset());

  it('the worker registers the idle listener in its first turn and reports to the agent once connected; stop() ends the renewal', async () => {
    vi.useFakeTimers();
    try {
      const native = new FakeNativeMessaging(idleAgent);
      const idle = new FakeIdle();
      const bg = startSandgateBackground({
        downloads: new FakeDownloads(),
        storage: fakeBrowser.storage,
        action: fakeBrowser.action,
        notifications: fakeBrowser.notifications,
        connectNative: native.connect,
        lastErrorMessage: native.lastErrorMessage,
        idle,
        t: englishTranslate(),
        iconUrl: 'icon.png',
        browserName: 'chromium',
        clientName: 'test',
        hostClient: { random: () => 1 },
        warn: () => {},
      });
      // before anything was awaited: a lock event can wake the worker
      expect(idle.listenerCount).toBe(1);
      await settle();
      await bg.idle();
      expect(reports(native)).toEqual(['active']);
      idle.change('locked');
      await settle();
      await bg.idle();
      expect(reports(native)).toEqual(['active', 'locked']);

      bg.stop();
      await vi.advanceTimersByTimeAsync(3 * IDLE_RENEW_MS);
      expect(reports(native)).toEqual(['active', 'locked']);
    } finally {
      vi.useRealTimers();
    }
  });
});
