import type { Logger } from '../log.ts';
import type { ConsoleSession } from './console-session.ts';
import type { GroupTaskAgent } from './group-task-agent.ts';

/** Group task progress: looked at every `everyMs` while a share is open, sent when it changed. */
export async function taskReportLoop(session: ConsoleSession, groupTasks: GroupTaskAgent, everyMs: number, log: Logger): Promise<void> {
  while (!session.stopped) {
    await session.sleep(everyMs);
    if (session.stopped || !groupTasks.busy) continue;
    await groupTasks
      .reportChanges()
      .catch((err: unknown) =>
        log.warn('group task progress could not be sent; retrying', { error: err instanceof Error ? err.message : String(err) }),
      );
  }
}
