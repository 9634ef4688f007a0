import { buildCaptureRules, type CaptureRules } from './capture-rules.ts';
import { computeSettings, effectiveSettingsSchema, type EffectiveSettings } from './settings.ts';
import type { StorageAreaLike, StorageChangedEvent } from './storage-area.ts';
import { SETTINGS_KEY, USER_SETTINGS_KEY } from './storage-keys.ts';

export interface ManagedStorageLike {
  get(keys: string): Promise<Record<string, unknown>>;
}

export interface SettingsSourceOptions {
  managed: ManagedStorageLike;
  local: StorageAreaLike;
  onChanged?: StorageChangedEvent;
  /** After this long without an answer from managed storage, policy counts as absent (10 s). */
  managedTimeoutMs?: number;
  warn?: (message: string) => void;
}

/**
 * The settings in force: enterprise policy (managed storage, `capture`) over the person's choices (options page) over
 * the defaults, computed once every source has answered and again on every change.
 *
 * Chromium's first `storage.managed.get` blocks until policy has loaded (3–5 s after launch). Nothing waits for it:
 * until it answers, {@link current} gives the settings computed at the end of the previous run (kept in storage.local),
 * or the person's choices over the defaults on a first run; {@link onSettled} tells the worker when the real ones are
 * known, so decisions made on provisional settings can be revisited.
 */
export class CapturePolicySource {
  readonly #opts: SettingsSourceOptions;
  #policy: { raw: unknown } | undefined;
  #user: { raw: unknown } | undefined;
  #cached: EffectiveSettings | undefined;
  #settled: EffectiveSettings | undefined;
  #started = false;
  readonly #settledListeners: ((s: EffectiveSettings) => void)[] = [];
  readonly #waiters: ((s: EffectiveSettings) => void)[] = [];

  constructor(options: SettingsSourceOptions) {
    this.#opts = options;
  }

  /** Starts reading every source; returns at once. */
  load(): void {
    if (this.#started) return;
    this.#started = true;
    this.#opts.local.get([USER_SETTINGS_KEY, SETTINGS_KEY]).then(
      (items) => {
        const cached = effectiveSettingsSchema.safeParse(items[SETTINGS_KEY]);
        if (cached.success) this.#cached = cached.data;
        this.#user ??= { raw: items[USER_SETTINGS_KEY] };
        this.#recompute();
      },
      () => {
        this.#user ??= { raw: undefined };
        this.#recompute();
      },
    );
    const timer = setTimeout(() => {
      if (this.#policy) return;
      this.#opts.warn?.('managed storage did not answer; applying settings without enterprise policy for now');
      this.#policy = { raw: undefined };
      this.#recompute();
    }, this.#opts.managedTimeoutMs ?? 10_000);
    this.#opts.managed.get('capture').then(
      (items) => this.#setPolicy(items['capture'], timer),
      // Firefox rejects when no managed-storage manifest exists: that simply means "no policy".
      () => this.#setPolicy(undefined, timer),
    );
    this.#opts.onChanged?.addListener((changes, area) => {
      if (area === 'managed' && 'capture' in changes) this.#setPolicy(changes['capture']?.newValue, undefined);
      if (area === 'local' && USER_SETTINGS_KEY in changes) {
        this.#user = { raw: changes[USER_SETTINGS_KEY]?.newValue };
        this.#recompute();
      }
    });
  }

  /** Whether every source has answered (policy included). */
  get settled(): boolean {
    return this.#settled !== undefined;
  }

  /** Whether {@link current} can be trusted without waiting: settled, or kept from the previous run. */
  get known(): boolean {
    return this.#settled !== undefined || this.#cached !== undefined;
  }

  /** The best settings known now, never waiting. */
  current(): EffectiveSettings {
    return this.#settled ?? this.#cached ?? computeSettings(undefined, this.#user?.raw);
  }

  /** The settings once every source has answered (at most `managedTimeoutMs` after {@link load}). */
  whenSettled(): Promise<EffectiveSettings> {
    this.load();
    if (this.#settled) return Promise.resolve(this.#settled);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Called each time the settings are (re)computed from every source. */
  onSettled(listener: (s: EffectiveSettings) => void): void {
    this.#settledListeners.push(listener);
  }

  /** Capture rules from {@link current}. */
  rules(): CaptureRules {
    const s = this.current();
    return buildCaptureRules({ fileExtensions: s.fileExtensions, mimeTypes: s.mimeTypes });
  }

  #setPolicy(raw: unknown, timer: ReturnType<typeof setTimeout> | undefined): void {
    if (timer !== undefined) clearTimeout(timer);
    this.#policy = { raw };
    this.#recompute();
  }

  #recompute(): void {
    if (!this.#policy || !this.#user) return;
    const next = computeSettings(this.#policy.raw, this.#user.raw);
    this.#settled = next;
    // Kept for the next start, and read by the popup and options page.
    this.#opts.local.set({ [SETTINGS_KEY]: next }).catch(() => undefined);
    for (const w of this.#waiters.splice(0)) w(next);
    for (const l of this.#settledListeners) l(next);
  }
}
