import { AGENT_API, heartbeatResponseSchema, type Heartbeat, type StatusResult } from '@sandgate/shared';
import type { ChannelState } from './channel-state.ts';
import type { ConsoleSession } from './console-session.ts';
import { hostFacts } from './enroll.ts';

export function heartbeatBody(agentId: string, status: StatusResult, heartbeatMs: number, state: ChannelState): Heartbeat {
  return {
    agentId,
    appVersion: status.appVersion,
    host: hostFacts(),
    startedAt: status.startedAt,
    heartbeatMs,
    queue: status.queue,
    servers: status.servers,
    policyRevision: state.revision,
    eventBacklog: state.backlogBytes,
  };
}

/** A heartbeat every `heartbeatMs`; each one that arrives also wakes the event delivery (the console is back). */
export async function heartbeatLoop(
  session: ConsoleSession,
  body: () => Heartbeat,
  heartbeatMs: number,
  arrived: () => void,
): Promise<void> {
  const b = session.backoff();
  while (!session.stopped) {
    try {
      await session.call('POST', AGENT_API.heartbeat, body(), heartbeatResponseSchema);
      b.ok();
      arrived();
      await session.sleep(heartbeatMs);
    } catch (err) {
      await b.fail('heartbeat', err);
    }
  }
}
