/**
 * Runs async sections one after another. The queue's bookkeeping (which objects exist, which jobs need them) must not
 * interleave between an `await` in enqueue and one in commit, or an object could be deleted under a job joining it.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => {});
    return next;
  }
}
