import { z } from 'zod';

/**
 * How the extension sees the agent, for the popup and for e2e tests (`sandgate.agent` in storage.local):
 * - `connecting`: a port is open and `hello` has not been answered yet;
 * - `connected`: `hello` succeeded;
 * - `not-installed`: the browser found no native host manifest for `org.sandgate.agent`;
 * - `not-running`: the host exists but the agent did not answer (service down, host crashed, timed out);
 * - `incompatible`: the agent speaks no protocol version this build accepts.
 */
export const agentStateSchema = z.enum(['connecting', 'connected', 'not-installed', 'not-running', 'incompatible']);
export type AgentState = z.infer<typeof agentStateSchema>;

export const agentConnectionSchema = z.object({
  state: agentStateSchema,
  /** ISO time of the last state change. */
  since: z.string(),
  /** The agent's capabilities from `hello` (when connected). */
  capabilities: z.array(z.string()).optional(),
  appVersion: z.string().optional(),
  /** Why the last connection failed: a code from the shared registry, and the browser's or agent's message. */
  lastError: z.object({ code: z.string(), message: z.string() }).optional(),
  /** When the next reconnect attempt is due (ISO), while not connected. */
  nextAttemptAt: z.string().optional(),
});
export type AgentConnection = z.infer<typeof agentConnectionSchema>;

/** What is stored under `sandgate.agent`: the connection plus the agent's last `agent-status` push. */
export const agentStatusSchema = agentConnectionSchema.extend({
  serversReachable: z.boolean().optional(),
  queueFull: z.boolean().optional(),
});
export type AgentStatus = z.infer<typeof agentStatusSchema>;
