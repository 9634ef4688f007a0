interface Waiter {
  agentId: string;
  groupId: number | null;
  wake: () => void;
}

/**
 * Wakes agents' long-polls when something they may care about changed (their group's policy, their membership,
 * their tasks). In-process only: with several console processes on one PostgreSQL server this becomes
 * LISTEN/NOTIFY (console/DESIGN.md); until then a change made by another process reaches an agent with its next poll
 * (at most one poll wait later).
 *
 * Waiters are indexed by agent and by group: a group task for 10,000 workstations wakes each one, and a scan of every
 * waiter per wake-up made that fan-out quadratic (bench/console-load.ts).
 */
export class ChangeNotifier {
  private readonly byAgent = new Map<string, Set<Waiter>>();
  private readonly byGroup = new Map<number, Set<Waiter>>();
  private count = 0;
  /** Wake-ups so far per agent, and of any group: lets a poll see one that came while it was reading the database. */
  private readonly agentMarks = new Map<string, number>();
  private groupMark = 0;

  /**
   * Take this before reading what an agent should get, and compare before waiting: a different mark means a wake-up
   * came in between (it found no waiter to wake), so read again instead of sleeping through it.
   */
  mark(agentId: string): string {
    return `${this.agentMarks.get(agentId) ?? 0}:${this.groupMark}`;
  }

  /** Resolves when woken for this agent or its group, or when the signal aborts. */
  wait(agentId: string, groupId: number | null, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const w: Waiter = {
        agentId,
        groupId,
        wake: () => {
          this.remove(w);
          signal.removeEventListener('abort', w.wake);
          resolve();
        },
      };
      add(this.byAgent, agentId, w);
      if (groupId !== null) add(this.byGroup, groupId, w);
      this.count++;
      signal.addEventListener('abort', w.wake, { once: true });
    });
  }

  wakeGroup(groupId: number): void {
    this.groupMark++;
    for (const w of [...(this.byGroup.get(groupId) ?? [])]) w.wake();
  }

  wakeAgent(agentId: string): void {
    this.agentMarks.set(agentId, (this.agentMarks.get(agentId) ?? 0) + 1);
    for (const w of [...(this.byAgent.get(agentId) ?? [])]) w.wake();
  }

  get waiting(): number {
    return this.count;
  }

  private remove(w: Waiter): void {
    if (del(this.byAgent, w.agentId, w)) this.count--;
    if (w.groupId !== null) del(this.byGroup, w.groupId, w);
  }
}

function add<K>(index: Map<K, Set<Waiter>>, key: K, w: Waiter): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(w);
}

function del<K>(index: Map<K, Set<Waiter>>, key: K, w: Waiter): boolean {
  const set = index.get(key);
  if (!set?.delete(w)) return false;
  if (!set.size) index.delete(key);
  return true;
}
