import { capturePolicySchema } from '@sandgate/shared';
import { DEFAULT_CAPTURE_RULES, buildCaptureRules, type CaptureRules } from './capture-rules.ts';
import type { StorageChangedEvent } from './storage-area.ts';

export interface ManagedStorageLike {
  get(keys: string): Promise<Record<string, unknown>>;
}

export interface CapturePolicySourceOptions {
  managed: ManagedStorageLike;
  onChanged?: StorageChangedEvent;
  /** Longest a capture decision waits for the first managed-storage read before using the defaults (10 s). */
  firstReadTimeoutMs?: number;
  warn?: (message: string) => void;
}

/**
 * The capture rules, from the `capture` section of enterprise policy (managed storage) over the defaults.
 * Chromium's first `storage.managed.get` blocks until policy has loaded (3–5 s after launch), so the read starts at
 * once but only capture decisions wait for it, never listener registration; a later policy change applies to the
 * next download.
 */
export class CapturePolicySource {
  readonly #opts: CapturePolicySourceOptions;
  #rules: CaptureRules | undefined;
  #first: Promise<void> | undefined;

  constructor(options: CapturePolicySourceOptions) {
    this.#opts = options;
  }

  /** Starts the first read; returns at once. */
  load(): void {
    if (this.#first) return;
    this.#first = this.#opts.managed.get('capture').then(
      (items) => this.#apply(items['capture']),
      // Firefox rejects when no managed-storage manifest exists: that simply means "no policy".
      () => this.#apply(undefined),
    );
    this.#opts.onChanged?.addListener((changes, area) => {
      if (area === 'managed' && 'capture' in changes) this.#apply(changes['capture']?.newValue);
    });
  }

  async rules(): Promise<CaptureRules> {
    this.load();
    if (this.#rules) return this.#rules;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#opts.firstReadTimeoutMs ?? 10_000);
    });
    await Promise.race([this.#first, timeout]);
    clearTimeout(timer);
    return this.#rules ?? DEFAULT_CAPTURE_RULES;
  }

  #apply(raw: unknown): void {
    if (raw === undefined) {
      this.#rules = DEFAULT_CAPTURE_RULES;
      return;
    }
    const parsed = capturePolicySchema.safeParse(raw);
    if (!parsed.success) {
      // Chromium already drops values that do not match the managed schema; this covers Firefox, which does not.
      this.#opts.warn?.('ignored an invalid `capture` policy; using the default capture rules');
      this.#rules = DEFAULT_CAPTURE_RULES;
      return;
    }
    this.#rules = buildCaptureRules(parsed.data);
  }
}
