/**
 * Wakes agents' long-polls when something they may care about changed (their group's policy, their membership,
 * later their tasks). In-process only: with several console processes on one PostgreSQL server this becomes
 * LISTEN/NOTIFY (console/DESIGN.md); until then a poll also re-checks when its wait runs out.
 */
export class ChangeNotifier {
  private readonly waiters = new Set<{ agentId: string; groupId: number | null; wake: () => void }>();

  /** Resolves when woken for this agent or its group, or when the signal aborts. */
  wait(agentId: string, groupId: number | null, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const w = {
        agentId,
        groupId,
        wake: () => {
          this.waiters.delete(w);
          signal.removeEventListener('abort', w.wake);
          resolve();
        },
      };
      if (signal.aborted) return resolve();
      this.waiters.add(w);
      signal.addEventListener('abort', w.wake, { once: true });
    });
  }

  wakeGroup(groupId: number): void {
    for (const w of [...this.waiters]) if (w.groupId === groupId) w.wake();
  }

  wakeAgent(agentId: string): void {
    for (const w of [...this.waiters]) if (w.agentId === agentId) w.wake();
  }

  get waiting(): number {
    return this.waiters.size;
  }
}
