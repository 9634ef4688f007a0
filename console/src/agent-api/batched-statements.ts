import DataLoader from 'dataloader';
import type { ConsoleTask, TaskProgress } from '@sandgate/shared';
import type { Queryable } from '../db/db.ts';
import { authenticateAgents } from '../agents/agents.ts';
import { pollChecks, type PollCa, type PollCaller, type PollCheck } from '../agents/poll-check.ts';
import { deliverableTasksFor } from '../group-tasks/deliverable-tasks.ts';
import { recordShareReports, type ChangedShare, type ShareReport } from '../group-tasks/group-tasks.ts';

/** Calls per statement: a bounded array parameter, and a statement short enough not to hold a connection long. */
const MAX_BATCH = 500;
/** Statements of one kind running at once; calls that come meanwhile wait and go together in the next one. */
const MAX_IN_FLIGHT = 4;

export interface AgentStatements {
  /** `pollChecks` for one poll. */
  check(caller: PollCaller): Promise<PollCheck>;
  /** `deliverableTasks` for one agent. */
  tasks(agentId: string): Promise<ConsoleTask[]>;
  /** `authenticateAgents` for one request. */
  authenticate(caller: PollCaller): Promise<{ id: string; groupId: number | null }>;
  /** `recordShareReports` for one report that does not finish its share. */
  report(agentId: string, progress: TaskProgress): Promise<ChangedShare | undefined>;
}

/**
 * The statements every agent's requests run, gathered across agents. A group task wakes every member's poll in one
 * tick, and each member then acknowledges it and polls again; each asked the database on its own, and tens of
 * thousands of statements queued on the pool's connections were most of the fan-out's time (bench/console-load.ts).
 * Here the calls made in one tick, and those that come while `MAX_IN_FLIGHT` statements of their kind are running,
 * go in one statement (DataLoader collects them; the scheduler below holds a batch back while the database is busy
 * with the last ones, so batches grow with the load and a lone call goes at once). Each caller still gets only its
 * own answer or its own error. Nothing is cached: each look must see the database as it is now.
 */
export function agentStatements(db: Queryable, ca: () => PollCa): AgentStatements {
  const checks = batched<PollCaller, PollCheck>((callers) => pollChecks(db, callers, ca()));
  const tasks = batched<string, ConsoleTask[]>(async (ids) => {
    const byAgent = await deliverableTasksFor(db, ids);
    return ids.map((id) => byAgent.get(id) ?? []);
  });
  const auth = batched<PollCaller, { id: string; groupId: number | null }>((callers) => authenticateAgents(db, callers));
  const reports = batched<ShareReport, ChangedShare | undefined>((r) => recordShareReports(db, r));
  return {
    check: (c) => checks.load(c),
    tasks: (id) => tasks.load(id),
    authenticate: (c) => auth.load(c),
    report: (agentId, progress) => reports.load({ agentId, progress }),
  };
}

function batched<K, V>(run: (keys: readonly K[]) => Promise<ReadonlyArray<V | Error>>): DataLoader<K, V> {
  let inFlight = 0;
  const held: Array<() => void> = [];
  const release = () => {
    const next = held.shift();
    if (next) {
      inFlight++;
      next();
    }
  };
  return new DataLoader<K, V>(
    async (keys) => {
      try {
        return await isolated(run, keys);
      } finally {
        inFlight--;
        release();
      }
    },
    {
      cache: false,
      maxBatchSize: MAX_BATCH,
      batchScheduleFn: (dispatch): void => {
        if (inFlight >= MAX_IN_FLIGHT) {
          held.push(dispatch);
          return;
        }
        inFlight++;
        // DataLoader's own default: after the promise jobs of this tick, so polls resumed by one wake-up all join.
        void Promise.resolve().then(() => process.nextTick(dispatch));
      },
    },
  );
}

/**
 * One caller's request can fail a statement for all (a report the database refuses): the keys are then run again in
 * halves, and the halves of a failing half, so the bad request fails alone while its neighbours get their answers. In
 * halves, not one by one: a workstation sending such reports on purpose costs a batch of 500 about 19 statements, not
 * 500.
 */
async function isolated<K, V>(
  run: (keys: readonly K[]) => Promise<ReadonlyArray<V | Error>>,
  keys: readonly K[],
): Promise<Array<V | Error>> {
  try {
    return [...(await run(keys))];
  } catch (err) {
    if (keys.length === 1) return [err instanceof Error ? err : new Error(String(err))];
    const half = Math.ceil(keys.length / 2);
    const [a, b] = await Promise.all([isolated(run, keys.slice(0, half)), isolated(run, keys.slice(half))]);
    return [...a, ...b];
  }
}
