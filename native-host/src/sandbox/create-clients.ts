import type { LoadedPolicy } from '../config/load-policy.ts';
import type { Clock } from '../clock.ts';
import { createServerAgent } from './https-call.ts';
import { LabClient } from './lab-client.ts';
import type { SandboxClient } from './sandbox-client.ts';
import { UnsupportedKindClient } from './unsupported-client.ts';

/** One client per policy server, in policy order, each with its own TLS agent. */
export function createSandboxClients(loaded: LoadedPolicy, clock: Clock, opts: { idleTimeoutMs?: number } = {}): SandboxClient[] {
  const s = loaded.policy.sandbox;
  return s.servers.map((server) => {
    if (server.kind !== 'sandgate') return new UnsupportedKindClient(server);
    return new LabClient(server, {
      agent: createServerAgent(loaded),
      connectTimeoutMs: s.connectTimeoutMs,
      analysisTimeoutMs: s.analysisTimeoutMs,
      ...(opts.idleTimeoutMs ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
      clock,
    });
  });
}
