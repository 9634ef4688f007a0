import type { LoadedPolicy } from '../config/load-policy.ts';
import type { Clock } from '../clock.ts';
import { CapeClient } from './cape-client.ts';
import { CuckooClient } from './cuckoo-client.ts';
import { createServerAgent } from './https-call.ts';
import { LabClient } from './lab-client.ts';
import type { SandboxClient } from './sandbox-client.ts';

/** One client per policy server, in policy order, each with its own TLS agent. */
export function createSandboxClients(loaded: LoadedPolicy, clock: Clock, opts: { idleTimeoutMs?: number } = {}): SandboxClient[] {
  const s = loaded.policy.sandbox;
  return s.servers.map((server) => {
    const common = {
      agent: createServerAgent(loaded),
      connectTimeoutMs: s.connectTimeoutMs,
      analysisTimeoutMs: s.analysisTimeoutMs,
      ...(opts.idleTimeoutMs ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
      clock,
    };
    switch (server.kind) {
      case 'cape':
        return new CapeClient(server, common);
      case 'cuckoo':
        return new CuckooClient(server, common);
      case 'sandgate':
        return new LabClient(server, common);
    }
  });
}
