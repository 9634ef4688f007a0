import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { restoreRequestBodySchema, SandgateError } from '@sandgate/shared';
import type { Db } from '../db/db.ts';
import { audit, readAudit } from '../audit/audit-log.ts';
import { assignAgent, createGroup, listGroups, setGroupPolicy } from '../groups/groups.ts';
import { listAgents, recentEvents } from '../agents/agents.ts';
import { notFound, readJson, segments, sendError, sendJson } from '../http/http-util.ts';
import { can, PERMISSIONS, permissionsOf, requirePermission, type Permission } from '../users/permissions.ts';
import { createSession, deleteSession, findSession, SESSION_COOKIE, SESSION_TTL_MS, type Session } from '../users/sessions.ts';
import { checkLogin } from '../users/users.ts';
import { LoginThrottle, type LoginReport } from '../users/login-throttle.ts';
import { performOp } from '../ops/console-ops.ts';
import type { ChangeNotifier } from '../agent-api/change-notifier.ts';
import { CONSOLE_JS, CONSOLE_HTML } from './console-page.ts';
import { groupActionsDiffer, setGroupActions, stableJson } from '../group-tasks/group-actions-store.ts';
import { cancelGroupTask, listGroupTasks, readGroupTask } from '../group-tasks/group-tasks.ts';
import { createRestoreRequest, listRestoreRequests, readRestoreRequest } from '../restore/restore-requests.ts';
import { approveGroupTask } from '../witness/witness-task.ts';
import { readWitnessStatus } from '../witness/witness-status.ts';
import { readAgentClaim } from '../witness/agent-claim.ts';

export interface AdminApiOptions {
  db: Db;
  notifier: ChangeNotifier;
  /** Failed-login throttling; one per console process (tests inject one with their own clock). */
  loginThrottle?: LoginThrottle;
  /** Whether the console has its own sandbox to look hashes up on (the task page says what a task waits for). */
  sandboxConfigured?: boolean;
}

export const CSRF_HEADER = 'x-sandgate-csrf';

const loginSchema = z.object({ name: z.string().max(64), password: z.string().max(1024) });
const groupSchema = z.object({ name: z.string() });
const policyBodySchema = z.object({ policy: z.unknown() });
const actionsBodySchema = z.object({ groupActions: z.unknown() });
const assignSchema = z.object({ groupId: z.number().int().nullable() });
const userSchema = z.object({ name: z.string(), role: z.string(), password: z.string() });
const tokenSchema = z.object({ group: z.string().optional(), ttlHours: z.number().positive().max(24 * 30).optional() });

/** Headers every answer carries: no framing, no inline script, nothing cached. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000',
};

/** The web console: one page, one script, and a JSON API behind a session cookie. */
export function adminApiHandler(options: AdminApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const o = { ...options, loginThrottle: options.loginThrottle ?? new LoginThrottle() };
  return (req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    handle(o, req, res).catch((err: unknown) => sendError(res, err));
  };
}

/** A login row's throttling details: the lockouts its failure started, and the refusals since the last row counted them. */
function throttleDetails(r: LoginReport): Record<string, unknown> {
  return {
    ...(r.lockouts.length ? { lockouts: r.lockouts.map((l) => ({ rule: l.rule, seconds: Math.ceil(l.lockoutMs / 1000) })) } : {}),
    ...(r.refusedBefore.user || r.refusedBefore.address ? { refusedWhileThrottled: r.refusedBefore } : {}),
  };
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/**
 * CSRF defence in depth: the session cookie is SameSite=Strict; a mutating call must also carry the session's CSRF
 * token in a header (which a cross-site form cannot set) and, when the browser sends an Origin, come from this origin.
 */
function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin && origin !== `https://${req.headers.host}`) {
    throw new SandgateError('CONSOLE_CSRF_REJECTED', `requests from ${origin} are not accepted`);
  }
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
    throw new SandgateError('CONSOLE_CSRF_REJECTED', 'mutating requests must be application/json');
  }
}

async function handle(o: AdminApiOptions & { loginThrottle: LoginThrottle }, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://console.invalid');
  const method = req.method ?? 'GET';
  if (method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    return void res.end(CONSOLE_HTML);
  }
  if (method === 'GET' && url.pathname === '/console.js') {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
    return void res.end(CONSOLE_JS);
  }
  if (!url.pathname.startsWith('/api/')) throw notFound();
  const path = segments(url.pathname, '/api/');
  const mutating = method !== 'GET' && method !== 'HEAD';
  if (mutating) checkOrigin(req);

  if (method === 'POST' && path.join('/') === 'login') {
    const body = await readJson(req, loginSchema);
    // The socket's own address: the console terminates TLS itself, so no forwarded-for header is trusted.
    const address = req.socket.remoteAddress ?? 'unknown';
    // Before the password is hashed: a locked name or address must cost the console no scrypt work.
    const admission = o.loginThrottle.admit(body.name, address);
    if (!admission.allowed) {
      const retryAfter = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
      // Not one row per refusal (anyone can send them): the throttle says which refusal stands for the others.
      if (admission.report) {
        await audit(o.db, {
          actor: 'anonymous',
          action: 'session.login',
          target: body.name,
          outcome: 'refused',
          details: { code: 'CONSOLE_LOGIN_THROTTLED', rule: admission.rule, address, retryAfterSeconds: retryAfter, refused: admission.report.refused },
        });
      }
      res.setHeader('retry-after', String(retryAfter));
      const why = admission.rule === 'capacity' ? 'The console is checking too many logins at once' : 'Too many failed logins';
      throw new SandgateError('CONSOLE_LOGIN_THROTTLED', `${why}; try again in ${retryAfter} s`, { params: { retryAfterSeconds: retryAfter } });
    }
    let user: Awaited<ReturnType<typeof checkLogin>>;
    try {
      user = await checkLogin(o.db, body.name, body.password);
    } catch (err) {
      // A database fault is not a wrong password: it must not lock anyone out.
      admission.ticket.abandoned();
      throw err;
    }
    if (!user) {
      const report = admission.ticket.failed();
      await audit(o.db, { actor: 'anonymous', action: 'session.login', target: body.name, outcome: 'refused', details: { code: 'CONSOLE_LOGIN_FAILED', address, ...throttleDetails(report) } });
      throw new SandgateError('CONSOLE_LOGIN_FAILED');
    }
    const report = admission.ticket.succeeded();
    const s = await createSession(o.db, user);
    await audit(o.db, { actor: `user:${user.name}`, action: 'session.login', outcome: 'ok', details: { address, ...throttleDetails(report) } });
    return sendJson(
      res,
      200,
      { user: { name: user.name, role: user.role, permissions: permissionsOf(user.role) }, csrfToken: s.csrfToken },
      { 'set-cookie': `${SESSION_COOKIE}=${s.cookieValue}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=${SESSION_TTL_MS / 1000}` },
    );
  }

  const raw = cookieValue(req, SESSION_COOKIE);
  const session = await findSession(o.db, raw);
  if (!session) throw new SandgateError('CONSOLE_SESSION_REQUIRED');
  if (mutating && req.headers[CSRF_HEADER] !== session.csrfToken) {
    await audit(o.db, { actor: `user:${session.user.name}`, action: `${method} /api/${path.join('/')}`, outcome: 'refused', details: { code: 'CONSOLE_CSRF_REJECTED' } });
    throw new SandgateError('CONSOLE_CSRF_REJECTED');
  }
  const actor = `user:${session.user.name}`;

  /** Permission check, the change, and an audit row either way (refusals included). */
  const mutate = async (
    permission: Permission | Permission[],
    action: string,
    target: string,
    fn: () => Promise<unknown>,
    details: Record<string, unknown> = {},
  ): Promise<void> => {
    for (const p of Array.isArray(permission) ? permission : [permission]) {
      if (!can(session.user.role, p)) {
        await audit(o.db, { actor, action, target, outcome: 'refused', details: { ...details, code: 'CONSOLE_FORBIDDEN', permission: p } });
        requirePermission(session.user, p);
      }
    }
    let out: unknown;
    try {
      out = await fn();
    } catch (err) {
      const code = err instanceof SandgateError ? err.code : 'INTERNAL';
      await audit(o.db, { actor, action, target, outcome: 'failed', details: { ...details, code } });
      throw err;
    }
    await audit(o.db, { actor, action, target, outcome: 'ok', details });
    sendJson(res, 200, out ?? { ok: true });
  };
  const view = (s: Session) => requirePermission(s.user, 'view');

  const [a, b, c] = path;
  switch (`${method} ${a ?? ''}${b !== undefined ? '/:' : ''}${c !== undefined ? `/${c}` : ''}`) {
    case 'GET session':
      return sendJson(res, 200, { user: { name: session.user.name, role: session.user.role, permissions: permissionsOf(session.user.role) }, csrfToken: session.csrfToken, allPermissions: PERMISSIONS });
    case 'POST logout':
      if (raw) await deleteSession(o.db, raw);
      await audit(o.db, { actor, action: 'session.logout', outcome: 'ok' });
      return sendJson(res, 200, { ok: true }, { 'set-cookie': `${SESSION_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0` });
    case 'GET agents':
      view(session);
      return sendJson(res, 200, { agents: await listAgents(o.db) });
    case 'GET agents/:/events':
      view(session);
      return sendJson(res, 200, { events: await recentEvents(o.db, { agentId: b!, limit: Number(url.searchParams.get('limit') ?? 100) }) });
    case 'GET events':
      view(session);
      return sendJson(res, 200, { events: await recentEvents(o.db, { limit: Number(url.searchParams.get('limit') ?? 100) }) });
    case 'POST agents/:/group': {
      const body = await readJson(req, assignSchema);
      return mutate('manage-policy', 'agent.assign-group', b!, async () => {
        await assignAgent(o.db, b!, body.groupId);
        o.notifier.wakeAgent(b!);
      });
    }
    case 'POST agents/:/revoke':
      return mutate('manage-policy', 'agent.revoke', b!, async () => {
        await performOp({ db: o.db, actor, onAgentChanged: (id) => o.notifier.wakeAgent(id) }, 'agent-revoke', { agentId: b! });
      });
    case 'GET groups':
      view(session);
      return sendJson(res, 200, { groups: await listGroups(o.db) });
    case 'POST groups': {
      const body = await readJson(req, groupSchema);
      return mutate('manage-policy', 'group.create', body.name, () => createGroup(o.db, body.name));
    }
    case 'PUT groups/:/policy': {
      // The document the page edits may hold the console-only `groupActions` section: it is stored apart (agents never
      // see it) and changing it needs manage-ioc-tasks as well. Left out, the group's actions stay as they are.
      const body = await readJson(req, policyBodySchema);
      const id = Number(b);
      const doc = body.policy ?? null;
      const hasActions = doc !== null && typeof doc === 'object' && !Array.isArray(doc) && Object.hasOwn(doc, 'groupActions');
      const { groupActions, ...agentPolicy } = hasActions ? (doc as Record<string, unknown>) : { groupActions: undefined };
      const actionsChange = hasActions && (await groupActionsDiffer(o.db, id, groupActions));
      const permissions: Permission[] = actionsChange ? ['manage-policy', 'manage-ioc-tasks'] : ['manage-policy'];
      return mutate(
        permissions,
        'group.set-policy',
        b!,
        async () => {
          // Only the group actions in the document: the agents keep their local policy (none stored).
          const policy = hasActions ? (Object.keys(agentPolicy).length ? agentPolicy : null) : doc;
          const stored = (await listGroups(o.db)).find((g) => g.id === id);
          if (!stored) throw new SandgateError('CONSOLE_NOT_FOUND', `no group with id ${id}`);
          if (actionsChange) await setGroupActions(o.db, id, groupActions);
          // Only a change the agents would see makes a new revision (and makes them reload).
          if (stableJson(stored.policy) === stableJson(policy)) return { revision: stored.policy_revision };
          const out = await setGroupPolicy(o.db, id, policy);
          o.notifier.wakeGroup(id);
          return out;
        },
        actionsChange ? { groupActions: true } : {},
      );
    }
    case 'PUT groups/:/actions': {
      const body = await readJson(req, actionsBodySchema);
      return mutate('manage-ioc-tasks', 'group.set-actions', b!, () => setGroupActions(o.db, Number(b), body.groupActions ?? null));
    }
    case 'GET tasks':
      view(session);
      return sendJson(res, 200, { tasks: await listGroupTasks(o.db, Number(url.searchParams.get('limit') ?? 50)) });
    case 'GET tasks/:': {
      view(session);
      const task = await readGroupTask(o.db, b!);
      return sendJson(res, 200, { task: { ...task, witness: await readWitnessStatus(o.db, task.id, { sandboxConfigured: o.sandboxConfigured === true }) } });
    }
    case 'GET tasks/:/agent-ioc':
      view(session);
      return sendJson(res, 200, await readAgentClaim(o.db, b!));
    case 'POST tasks/:/approve':
      // The operator's second witness: the same permission as the group actions that quarantine fleet-wide.
      return mutate('manage-ioc-tasks', 'group-task.approve', b!, async () => {
        const { wake } = await approveGroupTask(o.db, b!, actor);
        for (const id of wake) o.notifier.wakeAgent(id);
        return { approved: true, notified: wake.length };
      });
    case 'POST tasks/:/cancel':
      return mutate('manage-ioc-tasks', 'group-task.cancel', b!, async () => {
        const { wake } = await cancelGroupTask(o.db, b!, actor);
        for (const id of wake) o.notifier.wakeAgent(id);
        return { cancelled: true, notified: wake.length };
      });
    case 'POST quarantine/:': {
      if (b !== 'restore') throw notFound();
      // Undoing a quarantine fleet-wide is the counterpart of the group tasks that quarantine: the same permission.
      const raw = await readJson(req, z.unknown());
      const parsed = restoreRequestBodySchema.safeParse(raw);
      const r = raw as { sha256?: unknown; agentId?: unknown; groupId?: unknown; allow?: unknown } | null;
      const target = String(r?.sha256 ?? '');
      const details = { agentId: r?.agentId ?? null, groupId: r?.groupId ?? null, allow: r?.allow === true };
      // Declaring a false positive (`allow`) also changes the group's policy for good: both permissions.
      return mutate(details.allow ? ['manage-ioc-tasks', 'manage-policy'] : 'manage-ioc-tasks', 'quarantine.restore', target, async () => {
        if (!parsed.success) throw new SandgateError('MESSAGE_INVALID', 'a restore needs {sha256, agentId} or {sha256, groupId}, and optionally allow: true');
        const { id, wake, allowed } = await createRestoreRequest(o.db, parsed.data, actor);
        for (const agentId of wake) o.notifier.wakeAgent(agentId);
        // Every member gets the new allow list, not only the workstation the object is restored on.
        if (allowed) o.notifier.wakeGroup(allowed.groupId);
        return { id, workstations: wake.length, ...(allowed ? { allowed } : {}) };
      }, details);
    }
    case 'GET restores':
      view(session);
      return sendJson(res, 200, { restores: await listRestoreRequests(o.db, Number(url.searchParams.get('limit') ?? 50)) });
    case 'GET restores/:':
      view(session);
      return sendJson(res, 200, { restore: await readRestoreRequest(o.db, b!) });
    case 'GET audit':
      view(session);
      return sendJson(res, 200, { entries: await readAudit(o.db, Number(url.searchParams.get('limit') ?? 200)) });
    case 'POST users': {
      const body = await readJson(req, userSchema);
      return mutate('manage-users', 'user.add', body.name, async () => {
        const u = await performOp({ db: o.db, actor }, 'user-add', body);
        return { name: u.name, role: u.role };
      });
    }
    case 'POST tokens': {
      const body = await readJson(req, tokenSchema);
      return mutate('manage-policy', 'token.create', body.group ?? '', () => performOp({ db: o.db, actor }, 'token-create', body));
    }
    default:
      throw notFound();
  }
}
