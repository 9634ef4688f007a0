import { mkdirSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { sha256Schema, verdictSchema, type Verdict, type VerdictLevel } from '@sandgate/shared';
import { realClock, type Clock } from '../clock.ts';
import { readSealedLines, rewriteSealed, sealLine } from '../durable/sealed-lines.ts';
import { Serial } from './serial.ts';

export interface VerdictCacheOptions {
  /** `$SANDGATE_HOME/cache/verdicts.jsonl`. */
  file: string;
  /** `sandbox.verdictCacheTtlMs`; 0 turns the cache off (nothing is read or written). */
  ttlMs: number;
  /** How many objects are remembered; the oldest entries go first. */
  maxEntries?: number;
  clock?: Clock;
}

/**
 * Levels worth remembering. `unknown` is not: it means the server could not decide (unsupported type, analysis cut
 * short), and a later submission may well get a real verdict; answering it from the cache would hide that for a day.
 */
const CACHED_LEVELS: ReadonlySet<VerdictLevel> = new Set(['malicious', 'suspicious', 'clean']);

const entrySchema = z.object({
  sha256: sha256Schema,
  verdict: verdictSchema,
  /** When the agent stored it; the TTL runs from here. */
  storedAt: z.string().datetime(),
});
type Entry = z.infer<typeof entrySchema>;

/**
 * Verdicts by SHA-256, so an object downloaded again within `sandbox.verdictCacheTtlMs` is answered at once without
 * contacting any server. Sealed JSON lines (each with its digest: durable/sealed-lines.ts), appended one write each:
 * a torn last line or a flipped byte spoils that line only, and a spoiled or unsealed line is dropped on load, never
 * believed (a damaged sha256 could otherwise call other bytes clean). Losing an entry only costs one upload, so appends are not fsync'd; the
 * rewrite that drops expired and surplus lines is temp file + rename.
 *
 * Forgetting: a verdict stays until its TTL runs out. `sandgate quarantine restore` writes the file back without
 * submitting it again, so a restored false positive is not re-quarantined by the restore itself; only a new download
 * of the same bytes within the TTL would be. To forget every verdict at once, stop the agent and delete the file.
 */
export class VerdictCache {
  readonly file: string;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly clock: Clock;
  /** Insertion order is age order: the first entry is the oldest. */
  private readonly entries = new Map<string, Entry>();
  private lines = 0;
  /** Appends and rewrites one at a time, so a rewrite never renames over a line being appended. */
  private readonly writes = new Serial();

  private constructor(opts: VerdictCacheOptions) {
    this.file = opts.file;
    this.ttlMs = opts.ttlMs;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.clock = opts.clock ?? realClock;
  }

  static async open(opts: VerdictCacheOptions): Promise<VerdictCache> {
    const cache = new VerdictCache(opts);
    if (opts.ttlMs > 0) await cache.load();
    return cache;
  }

  /** The remembered verdict for these bytes, if it is still fresh. */
  get(sha256: string): Verdict | undefined {
    const e = this.entries.get(sha256);
    if (!e) return undefined;
    if (!this.fresh(e)) {
      this.entries.delete(sha256);
      return undefined;
    }
    return e.verdict;
  }

  /**
   * Remembers a verdict a server just gave. A verdict that itself came from the cache is not stored again: that would
   * push its expiry out on every repeated download and keep an old verdict alive for ever.
   */
  async put(sha256: string, verdict: Verdict): Promise<void> {
    if (this.ttlMs <= 0 || verdict.cached || !CACHED_LEVELS.has(verdict.level)) return;
    const entry: Entry = { sha256, verdict, storedAt: this.clock.now().toISOString() };
    this.entries.delete(sha256);
    this.entries.set(sha256, entry);
    this.evictSurplus();
    await this.writes.run(async () => {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      await appendFile(this.file, sealLine(entry), { mode: 0o600 });
      this.lines++;
      if (this.lines > 2 * this.maxEntries) await this.compact();
    });
  }

  get size(): number {
    return this.entries.size;
  }

  private fresh(e: Entry): boolean {
    return this.clock.now().getTime() - Date.parse(e.storedAt) < this.ttlMs;
  }

  private evictSurplus(): void {
    for (const sha of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(sha);
    }
  }

  private async load(): Promise<void> {
    const dir = dirname(this.file);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const read = await readSealedLines(this.file);
    this.lines = read.lines;
    for (const raw of read.values) {
      const r = entrySchema.safeParse(raw);
      if (!r.success || !this.fresh(r.data)) continue;
      this.entries.delete(r.data.sha256);
      this.entries.set(r.data.sha256, r.data);
    }
    this.evictSurplus();
    // Rewritten at once when lines were spoiled or torn: a new line must not join a torn one and be lost with it.
    if (read.unclean || this.lines > this.entries.size + this.maxEntries / 2) await this.compact();
  }

  private async compact(): Promise<void> {
    for (const [sha, e] of this.entries) if (!this.fresh(e)) this.entries.delete(sha);
    await rewriteSealed(this.file, [...this.entries.values()]);
    this.lines = this.entries.size;
  }
}
