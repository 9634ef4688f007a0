import DataLoader from 'dataloader';
import type { ConsoleTask } from '@sandgate/shared';
import type { Queryable } from '../db/db.ts';
import { pollChecks, type PollCa, type PollCaller, type PollCheck } from '../agents/poll-check.ts';
import { deliverableTasksFor } from '../group-tasks/deliverable-tasks.ts';

/** Callers per statement: a bounded array parameter, and a statement short enough not to hold a connection long. */
const MAX_BATCH = 500;

export interface PollBatch {
  /** `pollCheck` for one poll; polls asking in the same tick share one statement. */
  check(caller: PollCaller): Promise<PollCheck>;
  /** `deliverableTasks` for one agent; agents asking in the same tick share one statement. */
  tasks(agentId: string): Promise<ConsoleTask[]>;
}

/**
 * The long-polls' two database reads, gathered across polls. A group task wakes every member's poll in one tick; each
 * then asked the database on its own, and 15,000 statements, each waiting for one of the pool's connections, were
 * most of the fan-out's time (bench/console-load.ts). DataLoader collects the calls made in one tick and runs one
 * statement per `MAX_BATCH` of them; each poll still gets only its own answer (or its own error). Nothing is cached:
 * each look must see the database as it is now.
 */
export function pollBatch(db: Queryable, ca: () => PollCa): PollBatch {
  const checks = new DataLoader<PollCaller, PollCheck>((callers) => pollChecks(db, callers, ca()), {
    cache: false,
    maxBatchSize: MAX_BATCH,
  });
  const tasks = new DataLoader<string, ConsoleTask[]>(
    async (ids) => {
      const byAgent = await deliverableTasksFor(db, [...new Set(ids)]);
      return ids.map((id) => byAgent.get(id) ?? []);
    },
    { cache: false, maxBatchSize: MAX_BATCH },
  );
  return { check: (c) => checks.load(c), tasks: (id) => tasks.load(id) };
}
