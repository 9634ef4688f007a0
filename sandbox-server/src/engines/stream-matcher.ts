/**
 * Finds fixed byte patterns in a stream of chunks, including occurrences that straddle a chunk boundary. It keeps
 * only the last (longest pattern - 1) bytes between chunks, so memory does not depend on the object's size.
 */
export class StreamMatcher {
  private readonly patterns: Map<string, Buffer>;
  private readonly keep: number;
  private readonly found = new Map<string, number>();
  private tail: Buffer = Buffer.alloc(0);
  /** Bytes consumed before `tail` starts. */
  private tailOffset = 0;

  constructor(patterns: Record<string, Buffer | string>) {
    this.patterns = new Map(Object.entries(patterns).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v, 'latin1') : v]));
    this.keep = Math.max(0, ...[...this.patterns.values()].map((p) => p.length - 1));
  }

  update(chunk: Buffer): void {
    if (this.found.size === this.patterns.size) return;
    const window = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    for (const [key, pattern] of this.patterns) {
      if (this.found.has(key) || pattern.length === 0) continue;
      const at = window.indexOf(pattern);
      if (at >= 0) this.found.set(key, this.tailOffset + at);
    }
    const start = Math.max(0, window.length - this.keep);
    // Copy: the tail must not pin the caller's (possibly large) chunk in memory.
    this.tail = Buffer.from(window.subarray(start));
    this.tailOffset += start;
  }

  /** Offset of the first occurrence of the pattern named `key`, if it was seen. */
  offsetOf(key: string): number | undefined {
    return this.found.get(key);
  }

  has(key: string): boolean {
    return this.found.has(key);
  }
}
