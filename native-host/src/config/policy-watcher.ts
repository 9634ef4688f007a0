import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { silentLogger, type Logger } from '../log.ts';
import { loadPolicyFile, type LoadedPolicy, type PolicyIssue } from './load-policy.ts';

export interface PolicyWatcherOptions {
  /** Absolute path of the policy file the agent runs with. */
  path: string;
  /** The policy the agent started with: the first "last good" one. */
  initial: LoadedPolicy;
  /** Applies a valid new policy; the watcher waits for it before looking at the file again. */
  onValid: (loaded: LoadedPolicy, changedKeys: string[]) => Promise<void>;
  /** A new version of the file is not usable; the last good policy stays in force. */
  onInvalid: (err: SandgateError, issues: PolicyIssue[]) => void;
  /** Quiet time after the last change before the file is read (editors write in several steps). */
  debounceMs?: number;
  /** A vanished file is reported only if still missing after this long (editors delete, then rename into place). */
  missingGraceMs?: number;
  /** Re-reads the file this often whatever fs.watch says (network filesystems send no events). 0 turns it off. */
  pollMs?: number;
  log?: Logger;
}

export interface PolicyWatcher {
  close(): void;
}

const MISSING = '\0missing';

/**
 * Watches the policy file for changes and hands each new valid version to `onValid`, each new invalid one to
 * `onInvalid` (once per distinct content). It watches the FOLDER, not the file: editors and configuration tools
 * replace a file by writing a temporary one and renaming it over the original, which ends a watch on the old inode.
 */
export function watchPolicyFile(o: PolicyWatcherOptions): PolicyWatcher {
  const log = o.log ?? silentLogger;
  const name = basename(o.path);
  const debounceMs = o.debounceMs ?? 200;
  const graceMs = o.missingGraceMs ?? 1000;
  let good = o.initial;
  // Content already dealt with: the last good text, and the last text reported invalid (not reported twice).
  let goodText: string | undefined;
  let reportedText: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let missingSince: number | undefined;

  const schedule = (ms = debounceMs) => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void check(), ms);
  };

  const check = async (): Promise<void> => {
    // One check at a time; a change during a check (or during onValid) triggers exactly one more.
    if (running) {
      again = true;
      return;
    }
    running = checkOnce()
      .catch((err: unknown) => log.error('policy reload failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        running = undefined;
        if (again && !closed) {
          again = false;
          void check();
        }
      });
    await running;
  };

  const checkOnce = async (): Promise<void> => {
    let text: string;
    try {
      text = await readFile(o.path, 'utf8');
      missingSince = undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') text = `\0unreadable ${(err as NodeJS.ErrnoException).code ?? ''}`;
      else {
        missingSince ??= Date.now();
        if (Date.now() - missingSince < graceMs) {
          schedule(graceMs);
          return;
        }
        text = MISSING;
      }
    }
    if (closed || text === goodText || text === reportedText) return;
    let next: LoadedPolicy;
    try {
      if (text === MISSING)
        throw new SandgateError('POLICY_NOT_FOUND', `The policy file was removed: ${o.path}`, { params: { looked: [o.path] } });
      next = await loadPolicyFile(o.path);
    } catch (err) {
      const e = err instanceof SandgateError ? err : new SandgateError('POLICY_INVALID', err instanceof Error ? err.message : String(err));
      reportedText = text;
      if (closed) return;
      log.warn('the changed policy is not usable; keeping the last good one', { code: e.code, error: e.message });
      o.onInvalid(e, issuesOf(e));
      return;
    }
    // The file may have changed again between our read and the loader's: remember what the loader saw.
    const loadedText = await readFile(o.path, 'utf8').catch(() => text);
    const changed = changedKeys(good, next);
    goodText = loadedText;
    reportedText = undefined;
    if (changed.length === 0 || closed) return;
    await o.onValid(next, changed);
    good = next;
  };

  void readFile(o.path, 'utf8').then(
    (t) => (goodText ??= t),
    () => {},
  );

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(o.path), { persistent: false }, (_event, filename) => {
      // Some platforms do not say which file changed; then any change in the folder is worth a look.
      if (!filename || filename === name) schedule();
    });
    watcher.on('error', (err) => log.warn('watching the policy folder failed; polling only', { error: err.message }));
  } catch (err) {
    log.warn('cannot watch the policy folder; polling only', { error: (err as Error).message });
  }
  const pollMs = o.pollMs ?? 30_000;
  const poll = pollMs > 0 ? setInterval(() => void check(), pollMs) : undefined;
  poll?.unref();

  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      watcher?.close();
    },
  };
}

function issuesOf(e: SandgateError): PolicyIssue[] {
  const raw = e.params?.issues;
  if (Array.isArray(raw)) {
    return raw.flatMap((i: unknown) =>
      i && typeof i === 'object' && 'key' in i && 'message' in i ? [{ key: String(i.key), message: String(i.message) }] : [],
    );
  }
  return [{ key: typeof e.params?.key === 'string' ? e.params.key : '', message: e.message }];
}

/** Leaf keys whose value differs (arrays compared whole), plus the pinned certificate's content. */
export function changedKeys(before: LoadedPolicy, after: LoadedPolicy): string[] {
  const flat = (v: unknown, prefix: string, out: Map<string, string>) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) flat(x, prefix ? `${prefix}.${k}` : k, out);
    } else out.set(prefix, JSON.stringify(v));
    return out;
  };
  const a = flat(before.policy, '', new Map());
  const b = flat(after.policy, '', new Map());
  const keys = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
  if (before.serverCa !== after.serverCa && !keys.includes('sandbox.serverCertificate')) keys.push('sandbox.serverCertificate');
  return keys.sort();
}
