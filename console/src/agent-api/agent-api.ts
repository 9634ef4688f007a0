import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AGENT_API,
  CONSOLE_BODY_LIMITS,
  enrollRequestSchema,
  eventBatchSchema,
  heartbeatSchema,
  noQuerySchema,
  pollQuerySchema,
  restoreProgressSchema,
  SandgateError,
  taskProgressSchema,
  type BodyLimit,
  type EnrollResponse,
  type PollResponse,
  type ShippedEvent,
} from '@sandgate/shared';
import type { Db, Queryable } from '../db/db.ts';
import type { ConsoleCa } from '../pki/console-ca.ts';
import { audit } from '../audit/audit-log.ts';
import { consumeEnrollmentToken } from '../agents/enrollment-tokens.ts';
import { insertAgent, policyForAgent, recordHeartbeat } from '../agents/agents.ts';
import { storeEvents } from '../agents/store-events.ts';
import type { EventRateLimit } from '../agents/event-rate-limit.ts';
import type { WitnessSettings } from '../group-tasks/create-group-task.ts';
import { admitBody, notFound, readJson, sendError, sendJson, stderrLog } from '../http/http-util.ts';
import { parseQuery } from '../http/parse-request.ts';
import type { ChangeNotifier } from './change-notifier.ts';
import { normaliseSerial, peerIdentity } from './peer-identity.ts';
import { renewAgent } from '../agents/renew-agent.ts';
import { isFinalProgress, recordTaskProgress, unchangedShare } from '../group-tasks/group-tasks.ts';
import { agentStatements, type AgentStatements } from './batched-statements.ts';
import { onThreatEvents } from '../group-tasks/on-threat.ts';
import { deliverableRestores, recordRestoreProgress } from '../restore/restore-requests.ts';
import { acknowledgeRestoreAnswer, deliverableRestoreAnswers, recordRestoreAsks } from '../restore/restore-inbox.ts';

export interface AgentApiOptions {
  db: Db;
  ca: ConsoleCa;
  notifier: ChangeNotifier;
  /** Where the console reports what agents' events made it do (a group task created), and unexpected errors. */
  log?: (line: string) => void;
  /** Shortens every route's wait for its body (tests of slow clients). */
  bodyTimeoutMs?: number;
  /** What witnesses a group task besides the console's sandbox and an operator (console config `witness`). */
  witness: WitnessSettings;
  /** Per-workstation limits on the events stored (console config `limits`). */
  eventLimit: EventRateLimit;
  /** Asks the console's own sandbox about a new task's object now (when one is configured). */
  lookUp?: (sha256: string) => void;
}

/**
 * Each route's body limit. Enrollment and renewal are read before the console knows the agent (renewal's certificate
 * may be one it no longer accepts): small. The reports of an authenticated agent may be large.
 */
const BODY_LIMITS: Partial<Record<string, BodyLimit>> = {
  [`POST ${AGENT_API.enroll}`]: CONSOLE_BODY_LIMITS.enrollment,
  [`POST ${AGENT_API.renew}`]: CONSOLE_BODY_LIMITS.enrollment,
  [`POST ${AGENT_API.heartbeat}`]: CONSOLE_BODY_LIMITS.heartbeat,
  [`POST ${AGENT_API.events}`]: CONSOLE_BODY_LIMITS.agentReport,
  [`POST ${AGENT_API.taskProgress}`]: CONSOLE_BODY_LIMITS.agentReport,
  [`POST ${AGENT_API.restoreProgress}`]: CONSOLE_BODY_LIMITS.agentReport,
};

/** The agents' side of the console (console/PROTOCOL.md). Served on the mutual-TLS listener. */
export function agentApiHandler(o: AgentApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const statements = agentStatements(o.db, () => o.ca);
  return (req, res) => {
    handle(o, statements, req, res).catch((err: unknown) => sendError(res, err, o.log ?? stderrLog));
  };
}

async function handle(o: AgentApiOptions, statements: AgentStatements, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://console.invalid');
  const route = `${req.method} ${url.pathname}`;
  // Before anything else: a body over the route's limit is refused unread (routes without a body take none).
  admitBody(req, BODY_LIMITS[route] ?? CONSOLE_BODY_LIMITS.none, o.bodyTimeoutMs);
  if (route !== `GET ${AGENT_API.poll}`) parseQuery(url, noQuerySchema);
  if (route === `GET ${AGENT_API.ca}`) {
    res.writeHead(200, { 'content-type': 'application/x-pem-file' });
    res.end(o.ca.certPem);
    return;
  }
  if (route === `POST ${AGENT_API.enroll}`) return enroll(o, req, res);
  // Renewal authenticates itself: it also accepts the certificate its last renewal replaced (retry after a lost answer).
  if (route === `POST ${AGENT_API.renew}`) return renewAgent(o, req, res);

  // Everything below speaks only to an enrolled, unrevoked agent over mutual TLS.
  const peer = peerIdentity(req);
  // The two calls every agent makes all the time authenticate inside their own statement (one query, not two).
  if (route === `POST ${AGENT_API.heartbeat}`) {
    const hb = await readJson(req, heartbeatSchema);
    if (hb.agentId !== peer.agentId)
      throw new SandgateError('MESSAGE_INVALID', 'the heartbeat names another agent than the client certificate');
    await recordHeartbeat(o.db, hb, peer.serial);
    return sendJson(res, 200, { ok: true, serverTime: new Date().toISOString() });
  }
  if (route === `GET ${AGENT_API.poll}`) {
    return poll(o, statements, peer, parseQuery(url, pollQuerySchema), res);
  }
  const agent = await statements.authenticate({ agentId: peer.agentId, certSerial: peer.serial });
  switch (route) {
    case `POST ${AGENT_API.events}`: {
      const batch = await readJson(req, eventBatchSchema);
      try {
        await o.eventLimit.take(
          agent.id,
          batch.events.length,
          batch.events.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0),
        );
      } catch (err) {
        if (err instanceof SandgateError && typeof err.params?.retryAfterSeconds === 'number')
          res.setHeader('retry-after', String(err.params.retryAfterSeconds));
        throw err;
      }
      // An employee's "Ask for restore" goes into the administrators' inbox with the event that carries it, in one
      // transaction (once per workstation and object while open).
      const askedToRestore = (tx: Queryable, fresh: readonly ShippedEvent[]) => recordRestoreAsks(tx, agent.id, fresh);
      const { fresh, ...answer } = await storeEvents(o.db, agent.id, batch.events, askedToRestore).catch((err: unknown) => {
        if (err instanceof SandgateError) o.log?.(`events of agent ${agent.id} refused: ${err.code}: ${err.message}`);
        throw err;
      });
      // Only events stored now: a batch re-sent after a lost answer starts nothing twice.
      await onThreatEvents({ db: o.db, notifier: o.notifier, log: o.log, witness: o.witness, lookUp: o.lookUp }, agent, fresh);
      return sendJson(res, 200, answer);
    }
    case `POST ${AGENT_API.taskProgress}`: {
      const p = await readJson(req, taskProgressSchema);
      // An acknowledgement or a progress report changes only its own share: gathered with the others arriving now.
      if (!isFinalProgress(p)) {
        if (!(await statements.report(agent.id, p))) await unchangedShare(o.db, agent.id, p.taskId);
        return sendJson(res, 200, { ok: true });
      }
      const { wake } = await recordTaskProgress(o.db, agent.id, p);
      for (const id of wake) o.notifier.wakeAgent(id);
      return sendJson(res, 200, { ok: true });
    }
    case `POST ${AGENT_API.restoreProgress}`: {
      const p = await readJson(req, restoreProgressSchema);
      // The same report acknowledges a `restore-answer` (its id is the inbox request's); an open request is no answer.
      if (!(await acknowledgeRestoreAnswer(o.db, agent.id, p.taskId))) await recordRestoreProgress(o.db, agent.id, p);
      return sendJson(res, 200, { ok: true });
    }
    default:
      throw notFound();
  }
}

async function enroll(o: AgentApiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req, enrollRequestSchema);
  const agentId = randomUUID();
  try {
    const out = await o.db.transaction(async (tx) => {
      const { groupId } = await consumeEnrollmentToken(tx, body.token, agentId);
      const cert = o.ca.signEnrollmentCsr(body.csr, agentId);
      await insertAgent(tx, {
        id: agentId,
        hostname: body.host.hostname,
        certSerial: normaliseSerial(cert.serial),
        certSha256: cert.sha256,
        certNotAfter: cert.notAfter,
        certCaSha256: cert.caSha256,
        groupId,
        appVersion: body.appVersion,
        host: body.host,
      });
      const group = groupId === null ? [] : await tx.query<{ name: string }>('SELECT name FROM groups WHERE id = $1', [groupId]);
      return { cert, group: group[0]?.name };
    });
    await audit(o.db, {
      actor: `agent:${agentId}`,
      action: 'agent.enroll',
      target: body.host.hostname,
      outcome: 'ok',
      details: { group: out.group ?? null },
    });
    const answer: EnrollResponse = {
      agentId,
      certificate: out.cert.pem,
      caCertificate: o.ca.certPem,
      ...(out.group ? { group: out.group } : {}),
    };
    sendJson(res, 200, answer);
  } catch (err) {
    const code = err instanceof SandgateError ? err.code : 'INTERNAL';
    await audit(o.db, {
      actor: 'anonymous',
      action: 'agent.enroll',
      target: body.host.hostname,
      outcome: 'refused',
      details: { code },
    }).catch(() => {});
    throw err;
  }
}

const HUNG_UP = Object.freeze({ reason: 'the agent hung up' });

/**
 * The long-poll: answers at once when the group's policy moved past the agent's revision or something waits for it,
 * otherwise when woken (ChangeNotifier) or, empty, when `waitMs` runs out. Each look is one query (`pollChecks`, shared
 * with the polls looking at the same moment: batched-statements.ts), which also re-authenticates, so a revocation ends the poll
 * with AGENT_REVOKED; the answer is read only when there is one.
 * A wait that runs out answers without looking again: the agent polls again at once, and that poll looks.
 */
async function poll(
  o: AgentApiOptions,
  statements: AgentStatements,
  peer: { agentId: string; serial: string },
  q: { policyRevision: number; waitMs: number },
  res: ServerResponse,
): Promise<void> {
  const gone = new AbortController();
  // The agent hung up (or was stopped): stop waiting for it. 'close' also comes after every answer: a reason of our
  // own spares an AbortError (a DOMException with its stack) per poll, which showed in the CPU profile at fleet size.
  res.once('close', () => gone.abort(HUNG_UP));
  const deadline = Date.now() + q.waitMs;
  for (;;) {
    const mark = o.notifier.mark(peer.agentId);
    const check = await statements.check({ agentId: peer.agentId, certSerial: peer.serial });
    if (gone.signal.aborted) return;
    const offer = check.renew !== undefined || check.trustDue;
    if (
      offer ||
      check.hasTasks ||
      check.hasRestores ||
      check.hasAnswers ||
      check.policyRevision !== q.policyRevision ||
      Date.now() >= deadline
    ) {
      const answer: PollResponse = {
        tasks: [
          ...(check.hasTasks ? await statements.tasks(check.id) : []),
          ...(check.hasRestores ? await deliverableRestores(o.db, check.id) : []),
          // After the restores: the agent runs an approved request's restore before it records the answer.
          ...(check.hasAnswers ? await deliverableRestoreAnswers(o.db, check.id) : []),
        ],
      };
      // CA rotation and expiry: renew now; after a retirement, pin the console's CAs (the renewal answer carries them too).
      if (check.renew) answer.renew = { reason: check.renew };
      else if (check.trustDue) answer.trust = { caCertificates: o.ca.trustPem };
      if (check.policyRevision !== q.policyRevision) {
        const current = await policyForAgent(o.db, check.id);
        // Moved again between the two reads: the agent gets the newer one, which is what it wants.
        if (current.revision !== q.policyRevision) answer.policy = current;
      }
      if (!gone.signal.aborted) sendJson(res, 200, answer);
      return;
    }
    if (o.notifier.mark(peer.agentId) !== mark) continue;
    const why = await o.notifier.wait(check.id, check.groupId, gone.signal, deadline - Date.now());
    if (why === 'aborted' || gone.signal.aborted) return;
    if (why === 'timeout') return sendJson(res, 200, { tasks: [] } satisfies PollResponse);
  }
}
