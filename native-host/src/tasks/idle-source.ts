import { execFile } from 'node:child_process';

/**
 * `locked`: the screen is locked or the screensaver runs (what `runMode: idle` waits for); `idle`: no input for a
 * while, screen unlocked (not enough: plain input idleness is a weak signal); `active`; `unknown` until a source knows.
 */
export type IdleState = 'active' | 'idle' | 'locked' | 'unknown';

/** One way of knowing whether the person is away. Sources are merged by {@link screenLocked}. */
export interface IdleSource {
  readonly name: string;
  /** The last state known; may start watching on the first call. Never blocks. */
  current(): IdleState;
  /** Called when the state may have changed. Returns the unsubscribe function. */
  onChange(cb: () => void): () => void;
  close(): void;
}

/** The machine counts as away while any source says the screen is locked. */
export function screenLocked(sources: readonly IdleSource[]): boolean {
  return sources.some((s) => s.current() === 'locked');
}

class Listeners {
  private readonly set = new Set<() => void>();
  add(cb: () => void): () => void {
    this.set.add(cb);
    return () => this.set.delete(cb);
  }
  fire(): void {
    for (const cb of this.set) cb();
  }
}

/**
 * A state someone tells us: the extension's `chrome.idle` (`locked` when the screen locks or the screensaver starts;
 * Firefox only ever says `active` or `idle`), or a test's script. A report expires after `ttlMs` without renewal, so a
 * browser that closed while the screen was locked does not keep the machine "away" for days.
 */
export class ReportedIdleSource implements IdleSource {
  readonly name: string;
  private state: IdleState = 'unknown';
  private at = 0;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly listeners = new Listeners();

  constructor(opts: { name?: string; ttlMs?: number; now?: () => number } = {}) {
    this.name = opts.name ?? 'reported';
    this.ttlMs = opts.ttlMs ?? 0;
    this.now = opts.now ?? Date.now;
  }

  set(state: IdleState): void {
    const changed = state !== this.state;
    this.state = state;
    this.at = this.now();
    if (changed) this.listeners.fire();
  }

  current(): IdleState {
    if (this.ttlMs > 0 && this.state !== 'unknown' && this.now() - this.at > this.ttlMs) return 'unknown';
    return this.state;
  }

  onChange(cb: () => void): () => void {
    return this.listeners.add(cb);
  }

  close(): void {}
}

export type RunCommand = (file: string, args: string[]) => Promise<string>;

const runCommand: RunCommand = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 5000, encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });

/**
 * systemd-logind's view of this user's session: `LockedHint` (set by the screen locker) means locked; `IdleHint`
 * alone means idle. Polled with `loginctl show-session ID -p LockedHint -p IdleHint` every few seconds, starting on
 * the first question (an agent with no idle task never runs loginctl). The session is `$XDG_SESSION_ID`, or, for an
 * agent started as a user service (no session of its own), the user's graphical session (`loginctl show-user UID -p
 * Display`). Without logind the state stays `unknown`, which never counts as locked.
 */
export class LogindIdleSource implements IdleSource {
  readonly name = 'logind';
  private state: IdleState = 'unknown';
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private session: string | undefined;
  private readonly pollMs: number;
  private readonly run: RunCommand;
  private readonly env: NodeJS.ProcessEnv;
  private readonly listeners = new Listeners();

  constructor(opts: { pollMs?: number; run?: RunCommand; env?: NodeJS.ProcessEnv } = {}) {
    this.pollMs = opts.pollMs ?? 5000;
    this.run = opts.run ?? runCommand;
    this.env = opts.env ?? process.env;
  }

  current(): IdleState {
    if (!this.timer && !this.closed) {
      this.timer = setTimeout(() => void this.poll(), 0);
      this.timer.unref();
    }
    return this.state;
  }

  onChange(cb: () => void): () => void {
    this.current();
    return this.listeners.add(cb);
  }

  /** One reading; exposed for tests. */
  async poll(): Promise<IdleState> {
    let next: IdleState = 'unknown';
    try {
      this.session ??=
        this.env.XDG_SESSION_ID ||
        (await this.run('loginctl', ['show-user', String(process.getuid?.() ?? ''), '-p', 'Display', '--value'])).trim() ||
        undefined;
      if (this.session)
        next = parseLogind(await this.run('loginctl', ['show-session', this.session, '-p', 'LockedHint', '-p', 'IdleHint']));
    } catch {
      next = 'unknown';
    }
    if (!this.closed) {
      if (next !== this.state) {
        this.state = next;
        this.listeners.fire();
      }
      this.timer = setTimeout(() => void this.poll(), this.pollMs);
      this.timer.unref();
    }
    return next;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

/** `LockedHint=yes` → locked; `IdleHint=yes` → idle; both `no` → active. */
export function parseLogind(text: string): IdleState {
  const props = new Map(text.split('\n').map((l) => l.trim().split('=', 2) as [string, string]));
  if (!props.has('LockedHint') && !props.has('IdleHint')) return 'unknown';
  if (props.get('LockedHint') === 'yes') return 'locked';
  if (props.get('IdleHint') === 'yes') return 'idle';
  return 'active';
}

/** The OS sources that run here. */
export function defaultIdleSources(): IdleSource[] {
  return process.platform === 'linux' ? [new LogindIdleSource()] : [];
}
