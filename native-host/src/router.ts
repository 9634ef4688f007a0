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
export function createRouter(agent: Agent, info: { appVersion: string }): Router {
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
  };
  return {
    handle(req) {
      const h = handlers[req.type] as (r: Request) => Promise<unknown>;
      return h(req);
    },
  };
}
