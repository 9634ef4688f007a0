import { createHash } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import type { Logger } from '../log.ts';
import { cleanFinding, type Engine, type EngineFinding } from './engine.ts';

export const DEFAULT_BLOCKLIST_THREAT = 'Blocklisted';

/**
 * Parses `<sha256> <threat name>` lines; `#` starts a comment line; a hash alone gets a generic threat name.
 * Returns the map and the numbers of lines it could not read (reported, never fatal: one typo must not disable the
 * whole list).
 */
export function parseBlocklist(text: string): { entries: Map<string, string>; badLines: number[] } {
  const entries = new Map<string, string>();
  const badLines: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^([0-9a-fA-F]{64})(?:\s+(.+))?$/.exec(line);
    if (!m) {
      badLines.push(i + 1);
      return;
    }
    entries.set(m[1]!.toLowerCase(), m[2]?.trim() || DEFAULT_BLOCKLIST_THREAT);
  });
  return { entries, badLines };
}

/** The list's fingerprint: its entries, sorted, so comments, blank lines and line order change nothing. */
export function blocklistFingerprint(entries: Map<string, string>): string {
  const lines = [...entries].map(([sha, threat]) => `${sha} ${threat}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/**
 * SHA-256 blocklist kept in a text file an administrator edits. Reloaded when its mtime or size changes, so edits
 * take effect on the next analysis or look-up without a restart.
 */
export function createHashBlocklistEngine(opts: { path: string; log: Logger }): Engine {
  const name = 'sha256-blocklist';
  let stamp = '';
  let entries = new Map<string, string>();
  let fingerprint = blocklistFingerprint(entries);

  async function reload(): Promise<void> {
    let fh: fsp.FileHandle;
    try {
      // O_NOFOLLOW: the list decides verdicts, so a link planted in its place is refused, not read.
      fh = await fsp.open(opts.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') opts.log.warn('blocklist unreadable', { path: opts.path, err: String(err) });
      stamp = '';
      entries = new Map();
      fingerprint = blocklistFingerprint(entries);
      return;
    }
    try {
      const st = await fh.stat();
      const next = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (next === stamp) return;
      const parsed = parseBlocklist(await fh.readFile('utf8'));
      if (parsed.badLines.length) opts.log.warn('blocklist lines ignored', { path: opts.path, lines: parsed.badLines.slice(0, 20) });
      entries = parsed.entries;
      fingerprint = blocklistFingerprint(entries);
      stamp = next;
    } finally {
      await fh.close();
    }
  }

  return {
    name,
    async inputs() {
      await reload();
      return fingerprint;
    },
    async open(object) {
      await reload();
      const threat = entries.get(object.sha256);
      return {
        inputs: fingerprint,
        update() {},
        finish(): EngineFinding {
          if (threat === undefined) return cleanFinding(name);
          return {
            results: [{ engine: name, level: 'malicious', name: threat, detail: 'SHA-256 on the administrator blocklist' }],
            indicators: [{ type: 'signature', value: threat, source: name }],
            score: 100,
            threat,
          };
        },
      };
    },
  };
}
