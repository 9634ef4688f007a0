import {
  CAPABILITIES,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  SandgateError,
  type HelloResult,
  type Request,
  type RequestType,
} from '@sandgate/shared';
import type { Agent } from './agent/agent.ts';
import { listQuarantineForBrowser, restoreForBrowser } from './actions/browser-quarantine.ts';
import { policyUsersMayRestore } from './actions/users-may-restore.ts';
import { releaseHeld } from './hold/release-held.ts';
import { EventLog } from './events/event-log.ts';
import { sandgatePaths } from './config/paths.ts';

type Handler<T extends RequestType> = (req: Extract<Request, { type: T }>) => Promise<unknown>;

export interface Router {
  /** Answers one parsed request; throws SandgateError, which the transport turns into an error response. */
  handle(req: Request): Promise<unknown>;
}

/**
 * Maps each request type to the agent. The `Record` over every RequestType makes a new request type without a
 * handler a compile error. The router trusts nothing about the caller: transports decide who may send what
 * (BROWSER_REQUEST_TYPES) before a request gets here.
 */
export interface RouterInfo {
  appVersion: string;
  /** SANDGATE_HOME; defaults to the one the agent reports. */
  home?: string;
  /** `quarantine.usersMayRestore` of the running policy; by default read from the policy file on each request. */
  usersMayRestore?: () => Promise<boolean>;
}

export function createRouter(agent: Agent, info: RouterInfo): Router {
  const home = (): string => info.home ?? agent.status().home;
  const quarantine = () => ({ home: home(), usersMayRestore: info.usersMayRestore ?? policyUsersMayRestore(home()) });
  const handlers: { [T in RequestType]: Handler<T> } = {
    hello: async (req) => {
      if (req.payload.minV > PROTOCOL_VERSION || req.v < MIN_PROTOCOL_VERSION) {
        throw new SandgateError(
          'PROTOCOL_VERSION_UNSUPPORTED',
          `This agent speaks protocol versions ${MIN_PROTOCOL_VERSION}–${PROTOCOL_VERSION}; the peer needs ${req.payload.minV}–${req.v}`,
          { params: { agentV: PROTOCOL_VERSION, agentMinV: MIN_PROTOCOL_VERSION, peerV: req.v, peerMinV: req.payload.minV } },
        );
      }
      const result: HelloResult = { v: PROTOCOL_VERSION, appVersion: info.appVersion, capabilities: [...CAPABILITIES] };
      return result;
    },
    'submit-download': (req) => agent.submit(req.payload.path, req.payload.provenance),
    'submit-file': (req) => agent.submit(req.payload.path, { source: 'cli' }),
    'get-status': async () => agent.status(),
    'list-jobs': async (req) => ({ jobs: agent.listJobs(req.payload.limit) }),
    'list-quarantine': (req) => listQuarantineForBrowser(quarantine(), req.payload),
    'restore-quarantined': (req) => restoreForBrowser(quarantine(), req.payload.id),
    'release-held': (req) => releaseHeld(req.payload.path, req.payload.sha256, { events: new EventLog(sandgatePaths(home()).events) }),
  };
  return {
    handle(req) {
      const h = handlers[req.type] as (r: Request) => Promise<unknown>;
      return h(req);
    },
  };
}
