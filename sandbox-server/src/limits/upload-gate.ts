import { promises as fsp } from 'node:fs';
import { LabError } from '../lab-error.ts';

/** Free bytes for an unprivileged writer on the file system holding `dir`. */
export type FreeSpaceProbe = (dir: string) => Promise<number>;

export const statfsFreeBytes: FreeSpaceProbe = async (dir) => {
  const st = await fsp.statfs(dir);
  return st.bavail * st.bsize;
};

const BUSY_HEADERS = { connection: 'close', 'retry-after': '5' };

/** One upload let through the gate: what it announced, what has arrived, and its place among the uploads. */
export interface UploadSlot {
  readonly size: number;
  /** Bytes received so far; the receiver keeps it current. */
  received: number;
  /** Whether the disk still has room for the rest of this upload plus half the reserve. */
  roomLeft(): Promise<boolean>;
  release(): void;
}

/**
 * Admits uploads before their bodies are read: at most `maxUploads` at once, and only when the announced size fits in
 * the free space after the reserve and after what the uploads already admitted still have to write.
 */
export class UploadGate {
  private readonly active = new Set<UploadSlot>();
  private readonly o: { maxUploads: number; diskReserveBytes: number; dir: string; freeBytes: FreeSpaceProbe };

  constructor(opts: { maxUploads: number; diskReserveBytes: number; dir: string; freeBytes: FreeSpaceProbe }) {
    this.o = opts;
  }

  get uploads(): number {
    return this.active.size;
  }

  async admit(size: number): Promise<UploadSlot> {
    if (this.active.size >= this.o.maxUploads) {
      throw new LabError(
        503,
        'TOO_MANY_UPLOADS',
        `the lab is receiving ${this.o.maxUploads} uploads, as many as it takes at once; retry later`,
        BUSY_HEADERS,
      );
    }
    // The slot is taken before the free-space probe awaits, so concurrent uploads cannot all pass on one reading.
    const slot: UploadSlot = {
      size,
      received: 0,
      roomLeft: async () => (await this.o.freeBytes(this.o.dir)) - (slot.size - slot.received) >= this.o.diskReserveBytes / 2,
      release: () => this.active.delete(slot),
    };
    this.active.add(slot);
    try {
      const free = await this.o.freeBytes(this.o.dir);
      let pending = 0;
      for (const other of this.active) if (other !== slot) pending += other.size - other.received;
      if (size + pending + this.o.diskReserveBytes > free) {
        throw new LabError(
          507,
          'INSUFFICIENT_STORAGE',
          `the lab has no room for ${size} bytes now (it keeps ${this.o.diskReserveBytes} bytes of its disk free)`,
          BUSY_HEADERS,
        );
      }
    } catch (err) {
      slot.release();
      throw err;
    }
    return slot;
  }
}
