/**
 * Group commit: callers that each need the same slow, shareable step (the queue folder's fsync) join one group and
 * are answered together when that group's flush is done. A flush starts as soon as one caller waits and none is
 * running, so a lone caller waits for nobody; callers arriving during a flush form the next group. `flush` answers
 * each member of its group: `undefined` for done, or the error that member is answered with.
 */
export class GroupCommit<T> {
  private readonly flush: (group: T[]) => Promise<Array<Error | undefined>>;
  private waiting: Array<{ item: T; done: (err: Error | undefined) => void }> = [];
  private running = false;

  constructor(flush: (group: T[]) => Promise<Array<Error | undefined>>) {
    this.flush = flush;
  }

  /** Resolves once `item`'s group is flushed; rejects with the error the flush gave it (or the flush's own). */
  join(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.waiting.length) {
      const group = this.waiting;
      this.waiting = [];
      let answers: Array<Error | undefined>;
      try {
        answers = await this.flush(group.map((g) => g.item));
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        answers = group.map(() => e);
      }
      group.forEach((g, i) => g.done(answers[i]));
    }
    this.running = false;
  }
}
