import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileDurable } from '@sandgate/shared/durable-write';
import { setModeNoFollow } from './held-mode.ts';

/**
 * What the agent knows of each download it held in place for a browser: where it landed, where it is held, the
 * permission bits it had (given back on release: the browser never names a mode) and which browser asked. Written
 * before the download is touched, so a crash in the middle of a hold is finished or undone at the next start and the
 * bits are never lost. One small file per hold under `$SANDGATE_HOME/holds`, like the queue's records.
 */
export const holdEntrySchema = z.object({
  format: z.literal(1),
  landedPath: z.string(),
  heldPath: z.string(),
  mode: z.number().int().min(0).max(0o7777),
  dev: z.number(),
  ino: z.number(),
  caller: z.string().optional(),
  heldAt: z.string(),
});
export type HoldEntry = z.infer<typeof holdEntrySchema>;

export class HoldLedger {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  async put(entry: HoldEntry): Promise<void> {
    await writeFileDurable(this.dir, fileName(entry.heldPath), JSON.stringify(entry));
  }

  remove(heldPath: string): void {
    try {
      unlinkSync(join(this.dir, fileName(heldPath)));
    } catch {
      // already gone
    }
  }

  /** The hold recorded for this held name, if the file there is still the one that was held. */
  async find(heldPath: string): Promise<HoldEntry | undefined> {
    const e = this.read(fileName(heldPath));
    if (!e || e.heldPath !== heldPath) return undefined;
    const st = await lstat(heldPath).catch(() => undefined);
    return st?.isFile() && st.ino === e.ino && st.dev === e.dev ? e : undefined;
  }

  /** A hold already made of a download that landed at `landedPath` (the browser asking again after a failure). */
  async findLanded(landedPath: string, caller: string | undefined): Promise<HoldEntry | undefined> {
    for (const name of this.names()) {
      const e = this.read(name);
      if (e?.landedPath === landedPath && e.caller === caller && (await this.find(e.heldPath))) return e;
    }
    return undefined;
  }

  /**
   * After a crash: a hold cut short between its record and the move is finished (both names are the held file: the
   * landed name goes) or undone (only the landed name: its bits come back); a record whose file is gone (released,
   * quarantined, deleted) is dropped.
   */
  async reconcile(): Promise<{ finished: number; undone: number; dropped: number }> {
    const r = { finished: 0, undone: 0, dropped: 0 };
    for (const name of this.names()) {
      const e = this.read(name);
      if (!e) {
        this.removeFile(name);
        r.dropped++;
        continue;
      }
      const same = async (p: string) => {
        const st = await lstat(p).catch(() => undefined);
        return st?.isFile() === true && st.ino === e.ino && st.dev === e.dev ? st : undefined;
      };
      const landed = await same(e.landedPath);
      const held = await same(e.heldPath);
      if (landed && held) {
        await unlink(e.landedPath).catch(() => undefined);
        r.finished++;
      } else if (landed) {
        await setModeNoFollow(e.landedPath, landed, e.mode).catch(() => undefined);
        this.removeFile(name);
        r.undone++;
      } else if (!held) {
        this.removeFile(name);
        r.dropped++;
      }
    }
    return r;
  }

  private names(): string[] {
    try {
      return readdirSync(this.dir).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
  }

  private read(name: string): HoldEntry | undefined {
    try {
      const r = holdEntrySchema.safeParse(JSON.parse(readFileSync(join(this.dir, name), 'utf8')));
      return r.success ? r.data : undefined;
    } catch {
      return undefined;
    }
  }

  private removeFile(name: string): void {
    try {
      unlinkSync(join(this.dir, name));
    } catch {
      // already gone
    }
  }
}

function fileName(heldPath: string): string {
  return `${createHash('sha256').update(heldPath).digest('hex').slice(0, 40)}.json`;
}
