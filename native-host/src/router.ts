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
import { holdLanded } from './hold/hold-landed.ts';
import { withHeldReadable } from './hold/held-mode.ts';
import { releaseHeld } from './hold/release-held.ts';
import { EventLog } from './events/event-log.ts';
import { sandgatePaths } from './config/paths.ts';
import type { TaskService } from './tasks/task-runner.ts';

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
  const quarantine = () => ({ home: home(), usersMayRestore: info.usersMayRestore ?? policyUsersMayRestore(home()) });
  const tasks = (): TaskService => {
    const t = info.tasks?.() ?? agent.tasks;
    if (!t) throw new SandgateError('AGENT_UNAVAILABLE', 'The agent runs no scan tasks right now (it may be reloading its policy)');
    return t;
  };
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
    // A download held in place (`hold-landed`) has no permission bits; the queue's copy opens it by name.
    'submit-download': (req) => withHeldReadable(req.payload.path, () => agent.submit(req.payload.path, req.payload.provenance)),
    'submit-file': (req) => agent.submit(req.payload.path, { source: 'cli' }),
    'get-status': async () => agent.status(),
    'list-jobs': async (req) => ({ jobs: agent.listJobs(req.payload.limit) }),
    'list-quarantine': (req) => listQuarantineForBrowser(quarantine(), req.payload),
    'restore-quarantined': (req) => restoreForBrowser(quarantine(), req.payload.id),
    'release-held': async (req) => {
      const { path, sha256, jobId, mode } = req.payload;
      const result = await releaseHeld(path, sha256, { events: new EventLog(sandgatePaths(home()).events), ...(mode === undefined ? {} : { mode }) });
      // Released before its verdict: the job must follow the file, or a malicious verdict finds only the vanished
      // held name. A finished job, or one whose original is elsewhere, is left as it is.
      // The file is published either way; a relocation that cannot be recorded must not report the release as failed.
      if (jobId !== undefined) await agent.relocate?.(jobId, path, result.path).catch(() => false);
      return result;
    },
    'hold-landed': async (req) => {
      const held = await holdLanded(req.payload.path);
      new EventLog(sandgatePaths(home()).events).append({ type: 'held-landed', path: held.path, message: `held in place until its verdict (was ${req.payload.path})` });
      return held;
    },
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
