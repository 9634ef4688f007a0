import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { basename, dirname } from 'node:path';
import {
  AGENT_API,
  MAX_EVENTS_PER_BATCH,
  SandgateError,
  eventBatchResponseSchema,
  heartbeatResponseSchema,
  pollResponseSchema,
  restoreProgressResponseSchema,
  taskProgressResponseSchema,
  type Heartbeat,
  type ShippedEvent,
  type StatusResult,
} from '@sandgate/shared';
import { silentLogger, type Logger } from '../log.ts';
import { parsePolicyText } from '../config/load-policy.ts';
import { writeFileAtomic } from '@sandgate/shared/durable-write';
import { consoleFiles, readState, writeState, type ConsoleCredentials } from './console-files.ts';
import { consoleRequest } from './console-request.ts';
import { hostFacts } from './enroll.ts';
import { readEventsFrom } from './event-reader.ts';
import type { TaskService } from '../tasks/task-service.ts';
import { GroupTaskAgent } from './group-task-agent.ts';
import { RestoreRequestAgent } from './restore-request.ts';
import { iocForVerdict } from './verdict-ioc.ts';
import { renewalDueAt, renewCertificate } from './cert-renewal.ts';
import { ConsoleEndpoints, isConsoleFault } from './console-endpoints.ts';

export interface ConsoleClientOptions {
  home: string;
  credentials: ConsoleCredentials;
  /** The agent's status as `sandgate status` shows it. */
  status: () => StatusResult;
  /** The event log file to deliver (`$SANDGATE_HOME/events/events.jsonl`). */
  eventLogFile: string;
  /** The policy file the agent runs with: a group policy is written here and the policy watcher applies it. */
  policyFile: string;
  log?: Logger;
  heartbeatMs?: number;
  /** Upper bound of the reconnect back-off. */
  retryMaxMs?: number;
  /** How long the console may hold a poll. */
  pollWaitMs?: number;
  /** Re-reads the event log this often even when the file watcher says nothing. */
  eventScanMs?: number;
  /** How often group task progress is looked at and sent when it changed. */
  taskReportMs?: number;
  /** How often the client certificate's expiry is looked at (and a failed renewal tried again). Default 1 h. */
  renewCheckMs?: number;
  /** The scan tasks of the agent in force (a policy reload replaces the agent; the console channel stays). */
  tasks: () => TaskService | undefined;
}

/** How long a malicious verdict waits for its job to be readable (to generate its IOC) before it is shipped without one. */
const IOC_WAIT_MS = 30_000;

export interface ConsoleClient {
  /** Resolves once every loop has stopped. */
  close(): Promise<void>;
}

/** Codes after which retrying is pointless: the console has refused this agent for good. */
const FATAL = new Set(['AGENT_REVOKED', 'CONSOLE_CLIENT_CERT_REQUIRED']);

/**
 * The agent's channel to its console, over mutual TLS: heartbeats, delivery of the event log (from a persisted
 * cursor, so events written while the console was out of reach arrive later, once), and a long-poll for the group's
 * policy. Knows nothing of the agent's internals: it reads the status callback, the event log file and writes the
 * policy file.
 */
export function startConsoleClient(o: ConsoleClientOptions): ConsoleClient {
  const log = (o.log ?? silentLogger).child('console');
  const { enrollment } = o.credentials;
  const endpoints = new ConsoleEndpoints({
    enrollmentUrl: enrollment.url,
    policyUrls: consoleUrlsOf(o.policyFile),
    // A heartbeat: the process answers over the pinned TLS, knows this agent, and has its database.
    probe: async (url, signal) => {
      await consoleRequest({ method: 'POST', url: new URL(AGENT_API.heartbeat, url), body: heartbeat(), tls, timeoutMs: 10_000, signal }, heartbeatResponseSchema);
    },
    log,
  });
  const files = consoleFiles(o.home);
  const heartbeatMs = o.heartbeatMs ?? 30_000;
  const retryMaxMs = o.retryMaxMs ?? 60_000;
  const pollWaitMs = o.pollWaitMs ?? 25_000;
  const stop = new AbortController();
  // Replaced after a certificate renewal: new connections present the new certificate. The old agents are closed at
  // the end (a long-poll may still be running on one).
  const httpsAgents: HttpsAgent[] = [];
  const tlsFor = (c: ConsoleCredentials) => {
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 4 });
    httpsAgents.push(agent);
    return { ca: c.ca, cert: c.cert, key: c.key, agent };
  };
  let credentials = o.credentials;
  let tls = tlsFor(credentials);
  /** Counts certificate changes, so a refusal of a request sent with the previous certificate is recognised. */
  let generation = 0;
  let renewing: Promise<void> | undefined;
  let cursor = readState(files.cursor, enrollment.agentId).offset;
  let revision = readState(files.policyState, enrollment.agentId).revision;
  let backlogBytes = 0;
  let refused: SandgateError | undefined;
  const groupTasks = new GroupTaskAgent({
    home: o.home,
    agentId: enrollment.agentId,
    log,
    report: async (p) => {
      await call('POST', AGENT_API.taskProgress, p, taskProgressResponseSchema);
    },
    tasks: o.tasks,
  });
  const restores = new RestoreRequestAgent({
    home: o.home,
    log,
    report: async (p) => {
      await call('POST', AGENT_API.restoreProgress, p, restoreProgressResponseSchema);
    },
  });
  /** When each malicious verdict (by seq) was first met without an IOC available. */
  const iocWaitSince = new Map<number, number>();

  /**
   * One request, to the first console URL that answers: a transport fault (or a process without its database) sends
   * it on to the next URL at once. A request a failed process may have carried out before failing is carried out
   * again by the next one only where that changes nothing: events are stored once per sequence number, progress
   * reports set a state, and a share delivered twice is started once (the agent remembers its shares).
   */
  const send = async <S extends Parameters<typeof consoleRequest>[1]>(method: 'GET' | 'POST', path: string, body: unknown, schema: S, timeoutMs: number) => {
    let last: SandgateError | undefined;
    for (const url of endpoints.order()) {
      try {
        const answer = await consoleRequest({ method, url: new URL(path, url), body, tls, timeoutMs, signal: stop.signal }, schema);
        endpoints.succeeded(url);
        return answer;
      } catch (err) {
        if (stop.signal.aborted || !isConsoleFault(err)) throw err;
        endpoints.failed(url, err);
        last = err;
      }
    }
    throw last ?? new SandgateError('CONSOLE_UNREACHABLE', 'no console URL to try');
  };

  /**
   * One request. A CONSOLE_CLIENT_CERT_REQUIRED refusal is not final when the certificate changed meanwhile (the
   * request raced a renewal), or when a renewal's answer was lost (a pending key is on disk: the console may already
   * hold the new certificate): then the request is sent once more with the certificate in force.
   */
  const call = async <S extends Parameters<typeof consoleRequest>[1]>(method: 'GET' | 'POST', path: string, body: unknown, schema: S, timeoutMs = 15_000) => {
    const sentWith = generation;
    try {
      return await send(method, path, body, schema, timeoutMs);
    } catch (err) {
      if (!(err instanceof SandgateError) || err.code !== 'CONSOLE_CLIENT_CERT_REQUIRED') throw err;
      if (renewing) await renewing;
      else if (sentWith === generation && existsSync(files.pendingKey)) await renew('the console refused the certificate while a renewal was unfinished');
      if (sentWith === generation) throw err;
      return send(method, path, body, schema, timeoutMs);
    }
  };

  /** Renews the client certificate, one attempt at a time; a failure keeps the pair in use (logged, tried again later). */
  const renew = (why: string): Promise<void> => {
    renewing ??= (async () => {
      try {
        log.info('renewing the console client certificate', { why });
        const out = await renewCertificate({ home: o.home, credentials, tls, signal: stop.signal, ...(endpoints.order()[0] ? { baseUrl: endpoints.order()[0] } : {}) });
        credentials = out.credentials;
        tls = tlsFor(credentials);
        generation++;
        log.info('console client certificate renewed', { notAfter: out.notAfter, renewAfter: renewalDueAt(credentials.cert).toISOString() });
      } catch (err) {
        if (!stop.signal.aborted) {
          log.warn('the console client certificate could not be renewed; keeping the current one and trying again later', {
            code: err instanceof SandgateError ? err.code : undefined,
            error: err instanceof Error ? err.message : String(err),
            expires: new Date(new X509Certificate(credentials.cert).validTo).toISOString(),
          });
        }
      } finally {
        renewing = undefined;
      }
    })();
    return renewing;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      stop.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });

  /** Back-off for one loop: 1 s doubling to retryMaxMs, jittered so a fleet does not reconnect in step. */
  const backoff = () => {
    let next = 1000;
    return {
      fail: async (what: string, err: unknown) => {
        if (err instanceof SandgateError && FATAL.has(err.code)) {
          if (!refused) log.error('the console refused this agent; the console channel stops', { code: err.code, error: err.message });
          refused = err;
          stop.abort();
          return;
        }
        log.warn(`console ${what} failed; retrying`, { error: err instanceof Error ? err.message : String(err), retryInMs: next });
        await sleep(next * (0.5 + Math.random() / 2));
        next = Math.min(next * 2, retryMaxMs);
      },
      ok: () => {
        next = 1000;
      },
    };
  };

  const heartbeat = (): Heartbeat => {
    const s = o.status();
    return {
      agentId: enrollment.agentId,
      appVersion: s.appVersion,
      host: hostFacts(),
      startedAt: s.startedAt,
      heartbeatMs,
      queue: s.queue,
      servers: s.servers,
      policyRevision: revision,
      eventBacklog: backlogBytes,
    };
  };

  async function heartbeatLoop(): Promise<void> {
    const b = backoff();
    while (!stop.signal.aborted) {
      try {
        await call('POST', AGENT_API.heartbeat, heartbeat(), heartbeatResponseSchema);
        b.ok();
        kickEvents();
        await sleep(heartbeatMs);
      } catch (err) {
        await b.fail('heartbeat', err);
      }
    }
  }

  // Event delivery: one loop, woken by the file watcher, a timer and every successful heartbeat.
  let wake: (() => void) | undefined;
  let pending = true;
  const kickEvents = () => {
    pending = true;
    wake?.();
  };

  async function eventLoop(): Promise<void> {
    const b = backoff();
    while (!stop.signal.aborted) {
      if (!pending) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          stop.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        wake = undefined;
        continue;
      }
      pending = false;
      try {
        for (;;) {
          const before = cursor;
          const slice = readEventsFrom(o.eventLogFile, cursor, MAX_EVENTS_PER_BATCH);
          backlogBytes = slice.remainingBytes + (slice.nextOffset - cursor);
          const { events, waitAt } = await withIocs(slice.events);
          if (waitAt !== undefined) {
            // Ship what comes before the verdict; the verdict goes once its IOC can be made (or the wait ran out).
            slice.nextOffset = waitAt;
            pendingRetry();
          }
          if (events.length) {
            const r = await call('POST', AGENT_API.events, { events }, eventBatchResponseSchema);
            log.debug('events delivered', { accepted: r.accepted, duplicates: r.duplicates });
          }
          // Only after the console has stored them: a crash before this line re-sends, which the console ignores.
          if (slice.nextOffset !== cursor) {
            cursor = slice.nextOffset;
            await writeState(files.cursor, enrollment.agentId, { offset: cursor });
          }
          backlogBytes = slice.remainingBytes;
          // Stop when caught up, when only a line still being written is left, or when a verdict waits for its IOC.
          if (slice.remainingBytes === 0 || slice.nextOffset === before || waitAt !== undefined) break;
        }
        b.ok();
      } catch (err) {
        pending = true;
        const wait = await eventRefusal(err);
        if (wait === 'again') continue;
        if (wait !== undefined) await sleep(wait);
        else await b.fail('event delivery', err);
      }
    }
  }

  /**
   * The console's refusals of a batch that the agent answers itself; the cursor never moves past what was stored, so
   * nothing is lost. Rate limited: wait as told. Ahead of the console's cursor (its database was reset, say): send
   * again from the cursor it names. Anything else: the usual back-off.
   */
  async function eventRefusal(err: unknown): Promise<number | 'again' | undefined> {
    if (!(err instanceof SandgateError)) return undefined;
    if (err.code === 'CONSOLE_AGENT_RATE_LIMITED') {
      const s = typeof err.params?.retryAfterSeconds === 'number' ? err.params.retryAfterSeconds : 60;
      log.info('the console asks this agent to send its events more slowly; they are kept and sent later', { retryAfterSeconds: s });
      return s * 1000 * (1 + Math.random() / 4);
    }
    const expected = err.params?.expected;
    if (err.code === 'CONSOLE_EVENT_SEQ_AHEAD' && typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0 && expected < cursor) {
      log.warn('the console has stored less of the event log than this agent thought; sending again from its cursor', { from: cursor, to: expected });
      cursor = expected;
      await writeState(files.cursor, enrollment.agentId, { offset: cursor });
      return 'again';
    }
    if (err.code === 'CONSOLE_EVENT_SEQ_AHEAD') log.error('the console refuses the event log from here: more than it accepts in a row is unreadable; see the console troubleshooting', { cursor, error: err.message });
    return undefined;
  }

  /**
   * A malicious verdict carries the OpenIOC of its object (group actions on the console). The event is written a
   * moment before its job is readable: the batch then stops before it (`waitAt`, its seq) and is tried again shortly.
   */
  async function withIocs(events: ShippedEvent[]): Promise<{ events: ShippedEvent[]; waitAt?: number }> {
    const out: ShippedEvent[] = [];
    for (const e of events) {
      if (e.event.type !== 'verdict' || e.event.level !== 'malicious') {
        out.push(e);
        continue;
      }
      const facts = await iocForVerdict(o.home, e.event).catch((err: unknown) => {
        log.warn('the IOC of a verdict could not be generated', { jobId: e.event.jobId, error: err instanceof Error ? err.message : String(err) });
        return undefined;
      });
      if (facts) {
        iocWaitSince.delete(e.seq);
        out.push({ ...e, ...facts });
        continue;
      }
      const since = iocWaitSince.get(e.seq) ?? Date.now();
      iocWaitSince.set(e.seq, since);
      if (Date.now() - since < IOC_WAIT_MS) return { events: out, waitAt: e.seq };
      log.warn('a malicious verdict is shipped without its IOC: its job could not be read', { jobId: e.event.jobId });
      iocWaitSince.delete(e.seq);
      out.push(e);
    }
    return { events: out };
  }

  let retryTimer: NodeJS.Timeout | undefined;
  const pendingRetry = () => {
    if (retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      kickEvents();
    }, 500);
    retryTimer.unref();
  };

  /** Group task progress: looked at every `taskReportMs` while a share is open, sent when it changed. */
  async function reportLoop(): Promise<void> {
    const every = o.taskReportMs ?? 1000;
    while (!stop.signal.aborted) {
      await sleep(every);
      if (stop.signal.aborted || !groupTasks.busy) continue;
      await groupTasks.reportChanges().catch((err: unknown) => log.warn('group task progress could not be sent; retrying', { error: err instanceof Error ? err.message : String(err) }));
    }
  }

  async function applyPolicy(p: { revision: number; group: string | null; policy: Record<string, unknown> | null }): Promise<void> {
    if (p.policy) {
      const text = JSON.stringify(p.policy, null, 2) + '\n';
      // Validated here as well: a console of another version must not be able to make the agent refuse its policy.
      parsePolicyText(text, `group ${p.group ?? '?'} policy revision ${p.revision}`);
      await writeFileAtomic(o.policyFile, text, 0o600);
      log.info('group policy written; the policy watcher applies it', { group: p.group, revision: p.revision, policy: o.policyFile });
    } else {
      log.info('no group policy; keeping the local policy', { group: p.group, revision: p.revision });
    }
    endpoints.setPolicyUrls(p.policy ? consoleUrlsOf(o.policyFile) : undefined);
    revision = p.revision;
    await writeState(files.policyState, enrollment.agentId, { revision });
  }

  async function pollLoop(): Promise<void> {
    const b = backoff();
    while (!stop.signal.aborted) {
      try {
        const q = `${AGENT_API.poll}?policyRevision=${revision}&waitMs=${pollWaitMs}`;
        const r = await call('GET', q, undefined, pollResponseSchema, pollWaitMs + 15_000);
        b.ok();
        if (r.policy && r.policy.revision !== revision) {
          try {
            await applyPolicy(r.policy);
          } catch (err) {
            // An unusable policy is not retried in a tight loop: wait as after a failure, then ask again.
            log.error('the group policy could not be applied', { revision: r.policy.revision, error: err instanceof Error ? err.message : String(err) });
            await b.fail('policy', err);
          }
        }
        if (r.tasks.length) {
          try {
            await groupTasks.handle(r.tasks.filter((t) => t.type !== 'restore'));
            await restores.handle(r.tasks);
          } catch (err) {
            // Not started (the agent is reloading, the console is away): the console delivers them again.
            await b.fail('group task', err);
          }
        }
      } catch (err) {
        await b.fail('poll', err);
      }
    }
  }

  /** Renews at start when due (or when a renewal was left unfinished), then looks again every `renewCheckMs`. */
  async function renewLoop(): Promise<void> {
    const every = o.renewCheckMs ?? 3_600_000;
    while (!stop.signal.aborted) {
      const due = renewalDueAt(credentials.cert);
      if (existsSync(files.pendingKey)) await renew('a renewal was left unfinished');
      else if (Date.now() >= due.getTime()) await renew(`the certificate is due for renewal since ${due.toISOString()}`);
      await sleep(every);
    }
  }

  let watcher: FSWatcher | undefined;
  try {
    const name = basename(o.eventLogFile);
    watcher = watch(dirname(o.eventLogFile), { persistent: false }, (_e, f) => {
      if (!f || f === name) kickEvents();
    });
    watcher.on('error', () => {});
  } catch (err) {
    log.warn('cannot watch the event log; relying on the timer', { error: (err as Error).message });
  }
  const scan = setInterval(kickEvents, o.eventScanMs ?? 5000);
  scan.unref();

  log.info('console channel starting', { console: enrollment.url, urls: endpoints.order().map((u) => u.href), agentId: enrollment.agentId });
  const loops = Promise.all([heartbeatLoop(), eventLoop(), pollLoop(), reportLoop(), renewLoop()]);

  return {
    async close() {
      stop.abort();
      clearInterval(scan);
      if (retryTimer) clearTimeout(retryTimer);
      watcher?.close();
      endpoints.close();
      await loops;
      for (const a of httpsAgents) a.destroy();
    },
  };
}

/**
 * `console.urls` of the policy file the agent runs with, when it has one; undefined when the file cannot be read or
 * is not a valid policy (the agent then keeps to its enrollment URL, and the policy watcher reports the file).
 */
function consoleUrlsOf(policyFile: string): string[] | undefined {
  try {
    return parsePolicyText(readFileSync(policyFile, 'utf8'), policyFile).console?.urls;
  } catch {
    return undefined;
  }
}
