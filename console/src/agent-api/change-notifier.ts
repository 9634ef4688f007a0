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

  /**
   * Resolves when woken for this agent or its group (`woken`), when the signal aborts (`aborted`) or when `timeoutMs`
   * runs out (`timeout`). The timer is kept here rather than in a second signal: a poll waits thousands of times a
   * minute at fleet size, and a combined signal per wait showed in the console's CPU profile.
   */
  wait(agentId: string, groupId: number | null, signal: AbortSignal, timeoutMs?: number): Promise<'woken' | 'aborted' | 'timeout'> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve('aborted');
      let timer: NodeJS.Timeout | undefined;
      const end = (why: 'woken' | 'aborted' | 'timeout') => {
        if (!this.remove(w)) return;
        signal.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
        resolve(why);
      };
      const onAbort = () => end('aborted');
      const w: Waiter = { agentId, groupId, wake: () => end('woken') };
      add(this.byAgent, agentId, w);
      if (groupId !== null) add(this.byGroup, groupId, w);
      this.count++;
      signal.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(() => end('timeout'), Math.max(0, timeoutMs));
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

  /** False when the waiter was already gone (woken and aborted at once: only the first counts). */
  private remove(w: Waiter): boolean {
    if (!del(this.byAgent, w.agentId, w)) return false;
    this.count--;
    if (w.groupId !== null) del(this.byGroup, w.groupId, w);
    return true;
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
