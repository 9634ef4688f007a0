import { AGENT_API, restoreProgressResponseSchema, taskProgressResponseSchema, type Heartbeat, type StatusResult } from '@sandgate/shared';
import { silentLogger, type Logger } from '../log.ts';
import type { TaskService } from '../tasks/task-service.ts';
import type { ChannelState } from './channel-state.ts';
import { consoleFiles, readState, type ConsoleCredentials } from './console-files.ts';
import { ConsoleSession } from './console-session.ts';
import { EventDelivery } from './event-delivery.ts';
import { GroupTaskAgent } from './group-task-agent.ts';
import { heartbeatBody, heartbeatLoop } from './heartbeat-loop.ts';
import { consoleUrlsOf, policyPollLoop } from './policy-poll-loop.ts';
import { renewLoop } from './renew-loop.ts';
import { pinnedFingerprints } from './pinned-cas.ts';
import { RestoreRequestAgent } from './restore-request.ts';
import { taskReportLoop } from './task-report-loop.ts';

export interface ConsoleClientOptions {
  home: string;
  credentials: ConsoleCredentials;
  /** The agent's status as `sandgate status` shows it. */
  status: () => StatusResult;
  /** The event log file to deliver (`$SANDGATE_HOME/events/events.jsonl`). */
  eventLogFile: string;
  /** The policy file the agent runs with: a group policy is written here and the policy watcher applies it. */
  policyFile: string;
  log?: Logger;
  heartbeatMs?: number;
  /** Upper bound of the reconnect back-off. */
  retryMaxMs?: number;
  /** How long the console may hold a poll. */
  pollWaitMs?: number;
  /** Re-reads the event log this often even when the file watcher says nothing. */
  eventScanMs?: number;
  /** How often group task progress is looked at and sent when it changed. */
  taskReportMs?: number;
  /** How often the client certificate's expiry is looked at (and a failed renewal tried again). Default 1 h. */
  renewCheckMs?: number;
  /** The scan tasks of the agent in force (a policy reload replaces the agent; the console channel stays). */
  tasks: () => TaskService | undefined;
}

export interface ConsoleClient {
  /** Resolves once every loop has stopped. */
  close(): Promise<void>;
}

/**
 * The agent's channel to its console, over mutual TLS: one session (credentials, console URLs, back-off) and five
 * loops, one file each: heartbeats, delivery of the event log (from a persisted cursor, so events written while the
 * console was out of reach arrive later, once), a long-poll for the group's policy and tasks, group task progress, and
 * certificate renewal. Knows nothing of the agent's internals: it reads the status callback, the event log file and
 * writes the policy file.
 */
export function startConsoleClient(o: ConsoleClientOptions): ConsoleClient {
  const log = (o.log ?? silentLogger).child('console');
  const { enrollment } = o.credentials;
  const agentId = enrollment.agentId;
  const files = consoleFiles(o.home);
  const heartbeatMs = o.heartbeatMs ?? 30_000;
  const state: ChannelState = { revision: readState(files.policyState, agentId).revision, backlogBytes: 0 };
  // With the CAs pinned now (a rotation changes them while the channel runs).
  const body = (): Heartbeat => ({
    ...heartbeatBody(agentId, o.status(), heartbeatMs, state),
    trustCas: pinnedFingerprints(session.credentials.ca),
  });
  const session: ConsoleSession = new ConsoleSession({
    home: o.home,
    credentials: o.credentials,
    policyUrls: consoleUrlsOf(o.policyFile),
    heartbeat: body,
    pendingKeyFile: files.pendingKey,
    retryMaxMs: o.retryMaxMs ?? 60_000,
    log,
  });
  const groupTasks = new GroupTaskAgent({
    home: o.home,
    agentId,
    log,
    report: async (p) => void (await session.call('POST', AGENT_API.taskProgress, p, taskProgressResponseSchema)),
    tasks: o.tasks,
  });
  const restores = new RestoreRequestAgent({
    home: o.home,
    log,
    report: async (p) => void (await session.call('POST', AGENT_API.restoreProgress, p, restoreProgressResponseSchema)),
  });
  const events = new EventDelivery({
    session,
    home: o.home,
    agentId,
    eventLogFile: o.eventLogFile,
    cursorFile: files.cursor,
    state,
    eventScanMs: o.eventScanMs ?? 5000,
    log,
  });

  log.info('console channel starting', { console: enrollment.url, urls: session.endpoints.order().map((u) => u.href), agentId });
  const loops = Promise.all([
    heartbeatLoop(session, body, heartbeatMs, () => events.kick()),
    events.run(),
    policyPollLoop({
      session,
      agentId,
      policyFile: o.policyFile,
      policyStateFile: files.policyState,
      state,
      pollWaitMs: o.pollWaitMs ?? 25_000,
      groupTasks,
      restores,
      log,
    }),
    taskReportLoop(session, groupTasks, o.taskReportMs ?? 1000, log),
    renewLoop(session, files.pendingKey, o.renewCheckMs ?? 3_600_000),
  ]);

  return {
    async close() {
      session.stop();
      events.close();
      await loops;
      session.destroy();
    },
  };
}
