import { basename, join } from 'node:path';
import {
  SandgateError,
  type Job,
  type Policy,
  type Provenance,
  type StatusResult,
  type SubmitResult,
  type Verdict,
} from '@sandgate/shared';
import type { LoadedPolicy } from '../config/load-policy.ts';
import { sandgatePaths } from '../config/paths.ts';
import { EventLog } from '../events/event-log.ts';
import { silentLogger, type Logger } from '../log.ts';
import { realClock, type Clock } from '../clock.ts';
import { RequestQueue } from '../queue/request-queue.ts';
import type { JobEvent } from '../queue/job-store.ts';
import type { Lease } from '../queue/object-queue.ts';
import { VerdictCache } from '../queue/verdict-cache.ts';
import type { ChunkWriter } from '../queue/copy-and-hash.ts';
import { createSandboxClients } from '../sandbox/create-clients.ts';
import { Failover } from '../sandbox/failover.ts';
import type { SandboxClient } from '../sandbox/sandbox-client.ts';
import { ServerHealthBoard } from '../sandbox/server-health.ts';
import { runResponseActions } from '../actions/run-actions.ts';
import type { ActionContext } from '../actions/response-action.ts';
import { QuarantineStore } from '../quarantine/quarantine-store.ts';
import { quarantineLimitsFrom } from '../quarantine/limits-from-policy.ts';
import { TaskRunner, type TaskRunnerOptions } from '../tasks/task-runner.ts';
import type { TaskService } from '../tasks/task-service.ts';
import { withHeldReadable } from '../hold/held-mode.ts';
import { HoldLedger } from '../hold/hold-ledger.ts';
import { crashPoint } from '../crash-point.ts';

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

const UNEXPECTED_FAILURE_PAUSE_MS = 5000;
const QUARANTINE_HOUSEKEEPING_MS = 6 * 3600_000;

/** What the person at the keyboard should know about the agent as a whole (the `agent-status` push). */
/** The events of a job just accepted: it is in the queue, and perhaps someone dressed up an executable. */
function acceptedEvents(job: Job): JobEvent[] {
  const content = contentLabel(job);
  const accepted: JobEvent = { what: 'accepted', event: { type: 'object-accepted', path: job.path, sha256: job.sha256, ...(content ? { content } : {}) } };
  if (!job.content?.disguised) return [accepted];
  // Analysed like any other object; the event is for whoever reads the log.
  const message = `${basename(job.path)} is named like a harmless file but its content is ${content}`;
  return [accepted, { what: 'content-mismatch', event: { type: 'content-mismatch', path: job.path, sha256: job.sha256, content, message } }];
}

function contentLabel(job: Job): string | undefined {
  return job.content ? `${job.content.kind}/${job.content.format}` : undefined;
}

export interface AgentSituation {
  serversReachable: boolean;
  queueFull: boolean;
}

/** The agent service's core, free of any transport: the IPC server and the CLI drive it through this interface. */
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
    onServerRecovered: () => noticeSituation(),
  });
  const quarantineStore = QuarantineStore.open(opts.home, { events });
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
  await tasks.start().catch((err: unknown) => log.error('the scan tasks could not be loaded', { error: err instanceof Error ? err.message : String(err) }));
  actionCtx.tasks = tasks;
  const concurrency = opts.concurrency ?? 4;
  const startedAt = clock.now().toISOString();
  const listeners = new Set<(job: Job) => void>();
  const active = new Map<string, Promise<void>>();
  const stop = new AbortController();
  let closed = false;

  const situationListeners = new Set<(s: AgentSituation) => void>();
  let lastSituation: AgentSituation | undefined;

  const call = <T>(set: Set<(v: T) => void>, v: T) => {
    for (const l of set) {
      try {
        l(v);
      } catch (err) {
        log.warn('listener threw', { error: String(err) });
      }
    }
  };
  const situation = (): AgentSituation => ({ serversReachable: health.anyReachable(), queueFull: queue.isFull() });
  // Job changes are where server health and queue room change, so the situation is re-read there; pushed on change only.
  const noticeSituation = () => {
    const now = situation();
    if (lastSituation && now.serversReachable === lastSituation.serversReachable && now.queueFull === lastSituation.queueFull) return;
    lastSituation = now;
    call(situationListeners, now);
  };
  const emit = (job: Job) => {
    call(listeners, job);
    noticeSituation();
  };

  const pump = () => {
    while (!closed && active.size < concurrency) {
      const lease = queue.lease();
      if (!lease) return;
      const run = work(lease)
        .catch(async (err: unknown) => {
          log.error('job processing failed', { sha256: lease.sha256, error: err instanceof Error ? err.message : String(err) });
          // Keep the lease a while: handing it straight back would spin on a fault that persists (a full disk).
          await clock.sleep(UNEXPECTED_FAILURE_PAUSE_MS, stop.signal).catch(() => {});
        })
        .finally(() => {
          active.delete(lease.sha256);
          queue.rollback(lease.sha256);
          pump();
        });
      active.set(lease.sha256, run);
    }
  };

  async function work(lease: Lease): Promise<void> {
    // A verdict recorded before a restart wins, then one remembered from an earlier download of the same bytes: either
    // way no server is contacted. The jobs still run through finishJob, so response actions happen exactly as for a
    // fresh verdict.
    let verdict: Verdict | undefined = lease.jobs.find((j) => j.verdict)?.verdict;
    if (!verdict) {
      const known = verdicts.get(lease.sha256);
      if (known) verdict = { ...known, cached: true };
    }
    if (!verdict) {
      const first = lease.jobs[0]!;
      for (const j of lease.jobs) {
        const submitted = j === first ? [{ what: 'submitted', event: { type: 'object-submitted' as const, path: first.path, sha256: lease.sha256 } }] : [];
        emit(await queue.update(j.jobId, { job: { state: 'analysing', error: undefined }, events: submitted }));
      }
      try {
        const answer = await failover.analyse(
          { sha256: lease.sha256, size: lease.size, path: lease.objectPath, filename: basename(first.path) },
          {
            signal: stop.signal,
            jobId: first.jobId,
            // Between rounds the jobs are visibly back in the queue, with the reason, until a server answers.
            onRoundFailed: async (err) => {
              for (const j of queue.jobsFor(lease.sha256)) emit(await queue.update(j.jobId, { job: { state: 'queued', error: err.toWire() } }));
            },
          },
        );
        verdict = { ...answer, judgedAt: answer.judgedAt ?? clock.now().toISOString() };
      } catch (err) {
        if (stop.signal.aborted) return;
        const e = err instanceof SandgateError ? err : new SandgateError('INTERNAL', err instanceof Error ? err.message : String(err));
        for (const j of queue.jobsFor(lease.sha256)) emit(await queue.commit(j.jobId, { error: e.toWire() }));
        return;
      }
      crashPoint('after-submit-before-verdict');
      // Only an optimisation: a verdict that cannot be remembered costs one more upload later, never this job.
      await verdicts.put(lease.sha256, verdict).catch((err: unknown) => log.warn('the verdict could not be cached', { sha256: lease.sha256, error: String(err) }));
    }
    // Jobs that join while the actions run are picked up by the next pass; the object file stays until the last one.
    for (let jobs = queue.jobsFor(lease.sha256); jobs.length; jobs = queue.jobsFor(lease.sha256)) {
      for (const j of jobs) await finishJob(j, verdict);
    }
  }

  async function finishJob(job: Job, verdict: Verdict): Promise<void> {
    let judged = job;
    if (!judged.verdict) {
      // The verdict and its events are recorded in one write (the job's outbox), then logged: a crash anywhere here
      // leaves either neither or both, and the next start logs what is missing, once.
      const verdictEvents: JobEvent[] = [];
      if (verdict.cached) {
        verdictEvents.push({
          what: 'verdict-cached',
          event: {
            type: 'verdict-cached',
            path: job.path,
            sha256: job.sha256,
            level: verdict.level,
            server: verdict.server,
            message: `answered from the verdict cache; judged ${verdict.judgedAt ?? 'earlier'}`,
          },
        });
      }
      verdictEvents.push({
        what: 'verdict',
        event: { type: 'verdict', path: job.path, sha256: job.sha256, level: verdict.level, server: verdict.server, ...(verdict.threat ? { threat: verdict.threat } : {}) },
      });
      judged = await queue.update(job.jobId, { job: { state: 'analysing', verdict, error: undefined }, events: verdictEvents });
      emit(judged);
      crashPoint('after-verdict-recorded');
    }
    const actions = await runResponseActions(queue, actionCtx, policy, { ...judged, verdict });
    emit(await queue.commit(job.jobId, { verdict, actions }));
  }

  events.append({ type: 'service-started', message: `sandgate ${opts.appVersion}, pid ${process.pid}` }, clock.now());
  pump();
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
        noticeSituation();
        throw err;
      }
      crashPoint('after-accept');
      if (job.content?.disguised) log.warn('content does not match the file name', { jobId: job.jobId, content: contentLabel(job) });
      emit(job);
      pump();
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

    onAgentStatus(cb) {
      noticeSituation();
      situationListeners.add(cb);
      cb(lastSituation ?? situation());
      return () => situationListeners.delete(cb);
    },

    async close() {
      if (closed) return;
      closed = true;
      stop.abort(new SandgateError('AGENT_UNAVAILABLE', 'The agent is stopping'));
      await Promise.allSettled([...active.values()]);
      await tasks.close();
      failover.close();
      events.append({ type: 'service-stopped' }, clock.now());
      listeners.clear();
      situationListeners.clear();
    },
  };
}
