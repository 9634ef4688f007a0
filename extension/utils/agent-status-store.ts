import { agentStatusSchema, type AgentConnection, type AgentStatus } from './agent-connection.ts';
import type { StorageAreaLike } from './storage-area.ts';
import { AGENT_KEY } from './storage-keys.ts';

/** Keeps `sandgate.agent` current: the connection state from the host client and the agent's own status pushes. */
export class AgentStatusStore {
  readonly #area: StorageAreaLike;
  #status: AgentStatus | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(area: StorageAreaLike) {
    this.#area = area;
  }

  saveConnection(connection: AgentConnection): Promise<void> {
    // A new connection starts without the previous agent's report.
    const keep = connection.state === 'connected' && this.#status?.state === 'connected' ? this.#status : undefined;
    return this.#write({ ...connection, serversReachable: keep?.serversReachable, queueFull: keep?.queueFull });
  }

  saveAgentReport(report: { serversReachable: boolean; queueFull: boolean }): Promise<void> {
    if (!this.#status) return Promise.resolve();
    return this.#write({ ...this.#status, ...report });
  }

  #write(status: AgentStatus): Promise<void> {
    const clean = agentStatusSchema.parse(status);
    this.#status = clean;
    const run = this.#queue.then(() => this.#area.set({ [AGENT_KEY]: JSON.parse(JSON.stringify(clean)) }));
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

export function parseAgentStatus(raw: unknown): AgentStatus | undefined {
  const parsed = agentStatusSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
