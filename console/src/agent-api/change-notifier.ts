interface Waiter {
  agentId: string;
  groupId: number | null;
  wake: () => void;
}

/** Carries this process's wake-ups to the other console processes on the same database (`wake-relay.ts`). */
export interface WakeRelay {
  agent(agentId: string): void;
  group(groupId: number): void;
}

/**
 * Wakes agents' long-polls when something they may care about changed (their group's policy, their membership,
 * their tasks). `wakeAgent` / `wakeGroup` wake this process's polls and hand the wake-up to the relay, which tells the
 * other console processes on one PostgreSQL server (LISTEN/NOTIFY); what they tell comes in through `deliverAgent` /
 * `deliverGroup` (local only, never relayed back). Without a relay (PGlite: one process) it is in-process only.
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
  private relay: WakeRelay | undefined;

  /** From now on wake-ups made here also go to the other processes. */
  setRelay(relay: WakeRelay | undefined): void {
    this.relay = relay;
  }

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
    this.deliverGroup(groupId);
    this.relay?.group(groupId);
  }

  wakeAgent(agentId: string): void {
    this.deliverAgent(agentId);
    this.relay?.agent(agentId);
  }

  /** A wake-up for a group from another process (or this one): wakes this process's polls only. */
  deliverGroup(groupId: number): void {
    this.groupMark++;
    for (const w of [...(this.byGroup.get(groupId) ?? [])]) w.wake();
  }

  deliverAgent(agentId: string): void {
    this.agentMarks.set(agentId, (this.agentMarks.get(agentId) ?? 0) + 1);
    for (const w of [...(this.byAgent.get(agentId) ?? [])]) w.wake();
  }

  /**
   * Wakes every waiting poll here: wake-ups from other processes may have been missed (the LISTEN connection was
   * lost), so each poll looks at the database again. Costs one look per waiting agent.
   */
  deliverAll(): void {
    this.groupMark++;
    for (const set of [...this.byAgent.values()]) for (const w of [...set]) w.wake();
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
