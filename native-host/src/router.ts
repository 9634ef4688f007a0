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
import { QuarantineStore } from './quarantine/quarantine-store.ts';
import { policyUsersMayRestore } from './actions/users-may-restore.ts';
import { createBrowserSide } from './browser-side/browser-requests.ts';
import { HoldLedger } from './hold/hold-ledger.ts';
import { EventLog } from './events/event-log.ts';
import { sandgatePaths } from './config/paths.ts';
import type { TaskService } from './tasks/task-service.ts';

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
  /** The scan tasks of the agent in force (the serve command swaps agents on a policy reload); default `agent.tasks`. */
  tasks?: () => TaskService | undefined;
}

export function createRouter(agent: Agent, info: RouterInfo): Router {
  const home = (): string => info.home ?? agent.status().home;
  const quarantine = () => ({
    store: QuarantineStore.open(home()),
    usersMayRestore: info.usersMayRestore ?? policyUsersMayRestore(home()),
  });
  const tasks = (): TaskService => {
    const t = info.tasks?.() ?? agent.tasks;
    if (!t) throw new SandgateError('AGENT_UNAVAILABLE', 'The agent runs no scan tasks right now (it may be reloading its policy)');
    return t;
  };
  let browserSide: ReturnType<typeof createBrowserSide> | undefined;
  const browser = () =>
    (browserSide ??= createBrowserSide({
      agent: {
        submit: (path, provenance) => agent.submit(path, provenance),
        getJob: (jobId) => agent.getJob(jobId),
        relocate: (jobId, from, to) => agent.relocate?.(jobId, from, to) ?? Promise.resolve(false),
        anyServerReachable: () => agent.status().servers.some((s) => s.state !== 'failing'),
      },
      ledger: new HoldLedger(sandgatePaths(home()).holds),
      policy: () => agent.policy(),
      events: () => new EventLog(sandgatePaths(home()).events),
    }));
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
    // The browser side: only its own downloads (browser-side/browser-requests.ts).
    'submit-download': (req) => browser().submitDownload(req.payload, req.caller),
    'submit-file': (req) => agent.submit(req.payload.path, { source: 'cli' }),
    'get-status': async () => agent.status(),
    'list-jobs': async (req) => ({ jobs: agent.listJobs(req.payload.limit) }),
    'list-quarantine': (req) => listQuarantineForBrowser(quarantine(), req.payload),
    'restore-quarantined': (req) => restoreForBrowser(quarantine(), req.payload.id),
    'release-held': (req) => browser().releaseHeld(req.payload, req.caller),
    'list-tasks': async (req) => ({ tasks: tasks().list(req.payload.limit) }),
    'task-command': async (req) => {
      const t = tasks();
      const p = req.payload;
      if (p.command === 'create') return t.createFromFiles(p.iocFiles, { scope: p.scope, runMode: p.runMode, onMatch: p.onMatch });
      return t.command(p.id, p.command);
    },
    'report-idle': async (req) => {
      tasks().reportIdle(req.payload.state);
      return {};
    },
  };
  return {
    handle(req) {
      const h = handlers[req.type] as (r: Request) => Promise<unknown>;
      return h(req);
    },
  };
}
