import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { remove } from './delete-item.ts';
import { listItems } from './list-items.ts';
import type { QuarantineStore } from './quarantine-store.ts';
import { isItemId } from './store-layout.ts';

export interface QuarantineLimits {
  /** Total bytes the store may take on disk; the oldest items go first when it is exceeded. */
  maxBytes?: number;
  /** Items older than this are removed. */
  maxAgeMs?: number;
}

export interface EnforceOptions {
  now: Date;
  /**
   * The item just quarantined: never removed to make room, so reaching a limit never undoes a new quarantine. The
   * newest item in the store is kept in any case.
   */
  keep?: string;
}

export interface EnforceResult {
  removed: Array<{ id: string; reason: 'age' | 'size' }>;
  /** Bytes the store takes after enforcement. */
  bytes: number;
  /** True when the store is still above maxBytes (only the kept item and corrupt items are left to remove). */
  overLimit: boolean;
}

/**
 * Applies the policy's storage limits after a quarantine and at start-up. It only ever removes whole, verified items,
 * oldest first, through the same locked delete as `quarantine delete`; items whose metadata does not verify are
 * counted but left for an administrator, since nothing about them (not even their age) can be trusted.
 */
export function enforceQuarantineLimits(store: QuarantineStore, limits: QuarantineLimits, opts: EnforceOptions): Promise<EnforceResult> {
  // One pass at a time per process: two passes working from the same listing would each make room for the same bytes.
  const run = running.then(() => enforce(store, limits, opts));
  running = run.catch(() => undefined);
  return run;
}

let running: Promise<unknown> = Promise.resolve();

/**
 * The limits after a new item, as the response actions apply them: never failing the quarantine that triggered them
 * (the object is safe either way, and the limits run again after the next item and every few hours).
 */
export async function applyLimitsAfterQuarantine(
  store: QuarantineStore,
  limits: QuarantineLimits | undefined,
  opts: EnforceOptions & { keep: string; log: { warn(msg: string, fields?: Record<string, unknown>): void } },
): Promise<void> {
  if (!limits) return;
  await enforceQuarantineLimits(store, limits, opts).catch((err: unknown) => {
    opts.log.warn('quarantine limits could not be applied', { error: err instanceof Error ? err.message : String(err) });
  });
}

async function enforce(store: QuarantineStore, limits: QuarantineLimits, opts: EnforceOptions): Promise<EnforceResult> {
  const { items } = listItems(store);
  const newest = items.at(-1)?.id;
  const kept = (id: string) => id === opts.keep || id === newest;
  const removed: EnforceResult['removed'] = [];
  let bytes = storeBytes(store.dir);
  const drop = async (id: string, reason: 'age' | 'size', why: string) => {
    try {
      await remove(store, id, { reason: why });
      removed.push({ id, reason });
    } catch {
      // Busy (a restore or delete in progress) or already gone: measure again rather than guess what it freed.
    }
    bytes = storeBytes(store.dir);
  };

  if (limits.maxAgeMs !== undefined) {
    const oldest = opts.now.getTime() - limits.maxAgeMs;
    for (const item of items) {
      if (!kept(item.id) && Date.parse(item.quarantinedAt) < oldest)
        await drop(item.id, 'age', `older than the ${days(limits.maxAgeMs)}-day limit`);
    }
  }
  if (limits.maxBytes !== undefined && bytes > limits.maxBytes) {
    for (const item of items) {
      if (bytes <= limits.maxBytes) break;
      if (kept(item.id) || removed.some((r) => r.id === item.id)) continue;
      await drop(item.id, 'size', `oldest item removed to keep the quarantine under ${limits.maxBytes} bytes`);
    }
  }
  const overLimit = limits.maxBytes !== undefined && bytes > limits.maxBytes;
  if (removed.length || overLimit) {
    const byAge = removed.filter((r) => r.reason === 'age').length;
    const bySize = removed.length - byAge;
    store.events.append(
      {
        type: 'quarantine-limit-reached',
        message:
          `quarantine storage limits applied: ${byAge} item(s) past the age limit and ${bySize} item(s) over the size limit removed; ` +
          `${bytes} bytes in use${limits.maxBytes !== undefined ? ` of ${limits.maxBytes}` : ''}` +
          (overLimit ? '; still over the size limit (the newest item and unverifiable items are never removed automatically)' : ''),
      },
      opts.now,
    );
  }
  return { removed, bytes, overLimit };
}

/** Bytes the items take on disk (blobs and metadata), corrupt items included: they take space all the same. */
function storeBytes(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let total = 0;
  for (const name of names) {
    const m = /^([0-9a-f]{32})\.(blob|json)$/.exec(name);
    if (!m || !isItemId(m[1]!)) continue;
    try {
      const st = lstatSync(join(dir, name));
      if (st.isFile()) total += st.size;
    } catch {
      // removed meanwhile
    }
  }
  return total;
}

const days = (ms: number) => Math.round((ms / 86_400_000) * 10) / 10;
