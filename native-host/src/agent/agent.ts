import { join } from 'node:path';
import { SandgateError, type Job, type Policy, type Provenance, type StatusResult, type SubmitResult } from '@sandgate/shared';
import type { LoadedPolicy } from '../config/load-policy.ts';
import { sandgatePaths } from '../config/paths.ts';
import { EventLog } from '../events/event-log.ts';
import { silentLogger, type Logger } from '../log.ts';
import { realClock, type Clock } from '../clock.ts';
import { RequestQueue } from '../queue/request-queue.ts';
import { VerdictCache } from '../queue/verdict-cache.ts';
import type { ChunkWriter } from '../queue/copy-and-hash.ts';
import { createSandboxClients } from '../sandbox/create-clients.ts';
import { Failover } from '../sandbox/failover.ts';
import type { SandboxClient } from '../sandbox/sandbox-client.ts';
import { ServerHealthBoard } from '../sandbox/server-health.ts';
import type { ActionContext } from '../actions/response-action.ts';
import { QuarantineStore } from '../quarantine/quarantine-store.ts';
import { quarantineLimitsFrom } from '../quarantine/limits-from-policy.ts';
import { TaskRunner, type TaskRunnerOptions } from '../tasks/task-runner.ts';
import type { TaskService } from '../tasks/task-service.ts';
import { withHeldReadable } from '../hold/held-mode.ts';
import { HoldLedger } from '../hold/hold-ledger.ts';
import { crashPoint } from '../crash-point.ts';
import { acceptedEvents, contentLabel } from './accepted-events.ts';
import { callSafely, SituationWatch, type AgentSituation } from './agent-situation.ts';
import { judgeObject } from './judge-object.ts';
import { WorkPump } from './work-pump.ts';

export type { AgentSituation } from './agent-situation.ts';

export interface Agent {
  /** Validates and queues an object. Throws SandgateError (PATH_*, FILE_*, QUEUE_FULL, OBJECT_TOO_LARGE, OBJECT_OVER_MAX_SIZE, QUEUE_IO). */
  submit(path: string, provenance: Provenance): Promise<SubmitResult>;
  status(): StatusResult;
  /** The policy this agent runs under. */
  policy(): Policy;
  /** Newest first: unfinished jobs, then finished ones (which survive restarts). */
  listJobs(limit: number): Job[];
  getJob(jobId: string): Job | undefined;
  /** Called with the whole job on every state change; returns the unsubscribe function. */
  onJobUpdate(cb: (job: Job) => void): () => void;
  /** Called with the current situation at once, then whenever it changes; returns the unsubscribe function. */
  onAgentStatus(cb: (status: AgentSituation) => void): () => void;
  /**
   * A held download was published under `newPath` before its verdict: the job's original is there now, so a later
   * malicious verdict quarantines that file (still only if it has the judged content). False when the job is finished
   * or its original is not `fromPath`. Optional so wrappers written before it still type-check.
   */
  relocate?(jobId: string, fromPath: string, newPath: string): Promise<boolean>;
  /** Stops taking work, lets running actions finish, leaves unfinished jobs queued for the next start. */
  close(): Promise<void>;
  /** The scan tasks (IOC scan tasks, Critical Areas Scans) this agent runs; absent on wrappers that do not forward it. */
  readonly tasks?: TaskService;
}

export interface CreateAgentOptions {
  home: string;
  loaded: LoadedPolicy;
  log?: Logger;
  clock?: Clock;
  appVersion: string;
  /** How many objects are analysed at once. */
  concurrency?: number;
  /** Test seams. */
  clients?: SandboxClient[];
  quarantineObject?: ActionContext['quarantineObject'];
  writeChunk?: ChunkWriter;
  idleTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Test seams of the scan-task runner (idle sources, collectors, checkpoint interval). */
  tasks?: Partial<Pick<TaskRunnerOptions, 'idleSources' | 'collectors' | 'collectorRoot' | 'mounts' | 'checkpointEvery' | 'onCheckpoint'>>;
}

const QUARANTINE_HOUSEKEEPING_MS = 6 * 3600_000;

/**
 * The agent service, free of any transport: the IPC server and the CLI drive it through this interface. This function
 * wires the parts (queue and job store, verdict cache, sandbox failover, quarantine, response actions, scan tasks) and
 * answers requests; what happens to an object once queued is judge-object.ts, run by work-pump.ts.
 */
export async function createAgent(opts: CreateAgentOptions): Promise<Agent> {
  const log = (opts.log ?? silentLogger).child('agent');
  const clock = opts.clock ?? realClock;
  const paths = sandgatePaths(opts.home);
  const policy = opts.loaded.policy;
  const events = new EventLog(paths.events);
  const queue = await RequestQueue.open({
    dir: paths.queue,
    journalFile: join(opts.home, 'jobs', 'finished.jsonl'),
    maxBytes: policy.sandbox.requestQueueMaxBytes,
    ...(policy.sandbox.maxObjectBytes !== undefined ? { maxObjectBytes: policy.sandbox.maxObjectBytes } : {}),
    events,
    log: log.child('queue'),
    clock,
    ...(opts.writeChunk ? { writeChunk: opts.writeChunk } : {}),
  });
  const cacheFile = join(opts.home, 'cache', 'verdicts.jsonl');
  // A cache that cannot be read costs uploads, never the service: the agent starts without one.
  const verdicts = await VerdictCache.open({ file: cacheFile, ttlMs: policy.sandbox.verdictCacheTtlMs, clock }).catch((err: unknown) => {
    log.warn('the verdict cache could not be opened; running without it', { file: cacheFile, error: String(err) });
    return VerdictCache.open({ file: cacheFile, ttlMs: 0, clock });
  });
  const clients = opts.clients ?? createSandboxClients(opts.loaded, clock, opts.idleTimeoutMs ? { idleTimeoutMs: opts.idleTimeoutMs } : {});
  const health = new ServerHealthBoard(clients.map((c) => ({ url: c.url, kind: c.kind })));
  const failover = new Failover({
    clients,
    health,
    events,
    clock,
    log: log.child('failover'),
    ...(opts.backoffBaseMs ? { backoffBaseMs: opts.backoffBaseMs } : {}),
    ...(opts.backoffMaxMs ? { backoffMaxMs: opts.backoffMaxMs } : {}),
    // A probe can bring a server back while no job changes: tell the extension now, not at the next download.
    onServerRecovered: () => situation.notice(),
  });
  const quarantineStore = QuarantineStore.open(opts.home, { events });
  // The store key is unwrapped at start (on Windows DPAPI gives it back only to the account that wrapped it): a key
  // that cannot be used is said now, by its code; the agent still runs, and each quarantine fails with that code.
  if (quarantineStore.exists()) {
    try {
      quarantineStore.keys();
    } catch (err) {
      const code = err instanceof SandgateError ? err.code : 'INTERNAL';
      log.error('the quarantine key cannot be used; nothing can be quarantined or restored', {
        code,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  const actionCtx: ActionContext = {
    home: opts.home,
    events,
    log: log.child('actions'),
    clock,
    quarantineStore,
    // A download held in place has no permission bits; the quarantine opens it by name, so it is made readable for it.
    quarantineObject: opts.quarantineObject ?? ((o) => withHeldReadable(o.path, () => quarantineStore.quarantine(o))),
    quarantineLimits: quarantineLimitsFrom(policy),
    policy,
  };
  const tasks = new TaskRunner({
    home: opts.home,
    events,
    log: log.child('tasks'),
    clock,
    policy,
    quarantineStore,
    quarantineObject: actionCtx.quarantineObject,
    ...(actionCtx.quarantineLimits ? { quarantineLimits: actionCtx.quarantineLimits } : {}),
    ...opts.tasks,
  });
  // A download held in place for a browser when the last run died: the hold is finished or undone, never half made.
  await new HoldLedger(paths.holds).reconcile().then(
    (r) => (r.finished || r.undone ? log.info('holds cut short by a crash were completed', r) : undefined),
    (err: unknown) => log.warn('the held downloads could not be checked', { error: String(err) }),
  );
  // Before the first job: an action interrupted by a crash looks for the task it may have created.
  await tasks
    .start()
    .catch((err: unknown) => log.error('the scan tasks could not be loaded', { error: err instanceof Error ? err.message : String(err) }));
  actionCtx.tasks = tasks;
  const startedAt = clock.now().toISOString();
  const listeners = new Set<(job: Job) => void>();
  const stop = new AbortController();
  let closed = false;

  // Job changes are where server health and queue room change, so the situation is re-read there; pushed on change only.
  const situation = new SituationWatch(() => ({ serversReachable: health.anyReachable(), queueFull: queue.isFull() }), log);
  const emit = (job: Job) => {
    for (const l of listeners) callSafely(l, job, log);
    situation.notice();
  };
  const judge = { queue, verdicts, failover, actions: actionCtx, policy, clock, log, emit, signal: stop.signal };
  const work = new WorkPump({
    queue,
    concurrency: opts.concurrency ?? 4,
    clock,
    log,
    signal: stop.signal,
    work: (lease) => judgeObject(judge, lease),
  });

  events.append({ type: 'service-started', message: `sandgate ${opts.appVersion}, pid ${process.pid}` }, clock.now());
  work.pump();
  void ageOutQuarantine();

  /** New items trigger the size limit; the age limit needs time to pass, so it is also checked now and every few hours. */
  async function ageOutQuarantine(): Promise<void> {
    while (!stop.signal.aborted) {
      await quarantineStore.enforceLimits(actionCtx.quarantineLimits!, { now: clock.now() }).catch((err: unknown) => {
        log.warn('quarantine limits could not be applied', { error: err instanceof Error ? err.message : String(err) });
      });
      await clock.sleep(QUARANTINE_HOUSEKEEPING_MS, stop.signal).catch(() => {});
    }
  }

  return {
    tasks,
    async submit(path, provenance) {
      if (closed) throw new SandgateError('AGENT_UNAVAILABLE', 'The agent is stopping');
      let job: Job;
      try {
        job = await queue.enqueue(path, provenance, acceptedEvents);
      } catch (err) {
        // The queue records its own refusals (size limits, a full queue) with their figures.
        if (err instanceof SandgateError && !['OBJECT_TOO_LARGE', 'OBJECT_OVER_MAX_SIZE', 'QUEUE_FULL'].includes(err.code)) {
          events.append({ type: 'object-refused', code: err.code, message: err.message, path }, clock.now());
        }
        situation.notice();
        throw err;
      }
      crashPoint('after-accept');
      if (job.content?.disguised) log.warn('content does not match the file name', { jobId: job.jobId, content: contentLabel(job) });
      emit(job);
      work.pump();
      return { jobId: job.jobId, sha256: job.sha256, size: job.size, state: job.state };
    },

    status() {
      return {
        appVersion: opts.appVersion,
        pid: process.pid,
        startedAt,
        home: opts.home,
        servers: health.snapshot(),
        queue: queue.stats(),
        recent: queue.list(20).map((j) => ({
          jobId: j.jobId,
          path: j.path,
          sha256: j.sha256,
          state: j.state,
          ...(j.verdict ? { level: j.verdict.level } : {}),
          ...(j.verdict?.threat ? { threat: j.verdict.threat } : {}),
        })),
      };
    },

    relocate: (jobId, fromPath, newPath) => queue.relocate(jobId, fromPath, newPath),
    policy: () => policy,

    listJobs: (limit) => queue.list(Math.max(1, Math.floor(limit))),
    getJob: (jobId) => queue.get(jobId),

    onJobUpdate(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },

    onAgentStatus: (cb) => situation.subscribe(cb),

    async close() {
      if (closed) return;
      closed = true;
      stop.abort(new SandgateError('AGENT_UNAVAILABLE', 'The agent is stopping'));
      await work.close();
      await tasks.close();
      failover.close();
      events.append({ type: 'service-stopped' }, clock.now());
      listeners.clear();
      situation.clear();
    },
  };
}
