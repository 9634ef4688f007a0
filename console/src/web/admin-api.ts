import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import {
  actionsBodySchema,
  assignBodySchema,
  auditQuerySchema,
  CONSOLE_BODY_LIMITS,
  huntCreateBodySchema,
  emptyBodySchema,
  agentsQuerySchema,
  eventsQuerySchema,
  policyRollbackBodySchema,
  groupCreateBodySchema,
  listQuerySchema,
  noQuerySchema,
  policyBodySchema,
  policyKeys,
  policyValidateBodySchema,
  restoreRequestBodySchema,
  restoreApproveBodySchema,
  restoreDeclineBodySchema,
  restoreInboxQuerySchema,
  rowIdParam,
  SandgateError,
  tokenCreateBodySchema,
  userAddBodySchema,
  uuidParam,
  type BodyLimit,
} from '@sandgate/shared';
import type { Db } from '../db/db.ts';
import { audit, readAudit } from '../audit/audit-log.ts';
import { assignAgent, createGroup, listGroups, policyHistory, rollBackPolicy, setGroupPolicy } from '../groups/groups.ts';
import { agentsWithCa } from '../agents/agents-with-ca.ts';
import type { ConsoleCa } from '../pki/console-ca.ts';
import { pageEvents } from '../agents/event-pages.ts';
import { admitBody, notFound, readJson, segments, sendError, sendJson, stderrLog, type LogLine } from '../http/http-util.ts';
import { invalidInput, parsePathParam, parseQuery } from '../http/parse-request.ts';
import { can, PERMISSIONS, permissionsOf, requirePermission, ROLE_NAMES, type Permission } from '../users/permissions.ts';
import { deleteSession, findSession, SESSION_COOKIE, type Session } from '../users/sessions.ts';
import { LoginThrottle } from '../users/login-throttle.ts';
import { hidePolicySecrets, keepPolicySecrets } from '../groups/policy-secrets.ts';
import { checkPolicyDocument } from '../groups/check-policy-document.ts';
import { createTokenOp, performOp } from '../ops/console-ops.ts';
import type { ChangeNotifier } from '../agent-api/change-notifier.ts';
import { BROWSER_MODULE_PREFIX, loadBrowserModules } from './browser-modules.ts';
import { CONSOLE_HTML } from './console-page.ts';
import { enrollCommandLine } from '../server/enroll-address.ts';
import { login } from './login.ts';
import { groupActionsDiffer, setGroupActions, stableJson } from '../group-tasks/group-actions-store.ts';
import { cancelGroupTask, listGroupTasks, readGroupTask } from '../group-tasks/group-tasks.ts';
import { createRestoreRequest, listRestoreRequests, readRestoreRequest } from '../restore/restore-requests.ts';
import { answerRestoreRequest, listRestoreInbox } from '../restore/restore-inbox.ts';
import { approveGroupTask } from '../witness/witness-task.ts';
import { readWitnessStatus } from '../witness/witness-status.ts';
import { readAgentClaim } from '../witness/agent-claim.ts';
import { createHuntTask, huntAuditDetails } from '../hunts/hunt-request.ts';

export interface AdminApiOptions {
  db: Db;
  notifier: ChangeNotifier;
  /** Failed-login throttling; one per console process (tests inject one with their own clock). */
  loginThrottle?: LoginThrottle;
  /** Where unexpected errors are written (their text never reaches the browser); stderr by default. */
  log?: LogLine;
  /** Shortens every route's wait for its body (tests of slow clients). */
  bodyTimeoutMs?: number;
  /** Whether the console has its own sandbox to look hashes up on (the task page says what a task waits for). */
  sandboxConfigured?: boolean;
  /**
   * The console CA (replaced in place by a rotation): its SHA-256 for the enrollment line a new token is shown with,
   * and which CA each workstation's certificate is from.
   */
  ca?: Pick<ConsoleCa, 'certPem' | 'fingerprint' | 'next'>;
}

export const CSRF_HEADER = 'x-sandgate-csrf';

/** Body limits of the routes that need another than the default (`adminDefault`, or none for a GET). */
const BODY_LIMITS: Partial<Record<string, BodyLimit>> = {
  'POST login': CONSOLE_BODY_LIMITS.login,
  'PUT groups/:/policy': CONSOLE_BODY_LIMITS.adminPolicy,
  'PUT groups/:/actions': CONSOLE_BODY_LIMITS.adminPolicy,
  'POST policy/:': CONSOLE_BODY_LIMITS.adminPolicy,
  'POST hunts': CONSOLE_BODY_LIMITS.hunt,
};

/** Query parameters of the routes that take any; every other route refuses a query string with parameters. */
const QUERIES = {
  'GET agents': agentsQuerySchema,
  'GET events': eventsQuerySchema,
  'GET agents/:/events': eventsQuerySchema,
  'GET tasks': listQuerySchema,
  'GET restores': listQuerySchema,
  'GET restore-requests': restoreInboxQuerySchema,
  'GET audit': auditQuerySchema,
} as const;

/** Headers every answer carries: no framing, no inline script, nothing cached. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000',
};

/** The web console: one page, one script, and a JSON API behind a session cookie. */
export function adminApiHandler(options: AdminApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const o = {
    ...options,
    loginThrottle: options.loginThrottle ?? new LoginThrottle(),
    log: options.log ?? stderrLog,
    ui: loadBrowserModules(),
  };
  return (req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    handle(o, req, res).catch((err: unknown) => sendError(res, err, o.log));
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

async function handle(
  o: AdminApiOptions & { loginThrottle: LoginThrottle; log: LogLine; ui: ReadonlyMap<string, string> },
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://console.invalid');
  const method = req.method ?? 'GET';
  const path = url.pathname.startsWith('/api/') ? segments(url.pathname, '/api/') : [];
  const [a, b, c] = path;
  const route = `${method} ${a ?? ''}${b !== undefined ? '/:' : ''}${c !== undefined ? `/${c}` : ''}`;
  // Before anything else, authentication included: a body over the route's limit is refused unread.
  const reading = method === 'GET' || method === 'HEAD' || !url.pathname.startsWith('/api/');
  admitBody(req, BODY_LIMITS[route] ?? (reading ? CONSOLE_BODY_LIMITS.none : CONSOLE_BODY_LIMITS.adminDefault), o.bodyTimeoutMs);
  if (method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    return void res.end(CONSOLE_HTML);
  }
  const uiModule =
    method === 'GET' && url.pathname.startsWith(BROWSER_MODULE_PREFIX)
      ? o.ui.get(url.pathname.slice(BROWSER_MODULE_PREFIX.length))
      : undefined;
  if (uiModule !== undefined) {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
    return void res.end(uiModule);
  }
  if (!url.pathname.startsWith('/api/') || path.length > 3) throw notFound();
  if (!Object.hasOwn(QUERIES, route)) parseQuery(url, noQuerySchema);
  const mutating = method !== 'GET' && method !== 'HEAD';
  if (mutating) checkOrigin(req);

  if (route === 'POST login') return login(o, req, res);

  const raw = cookieValue(req, SESSION_COOKIE);
  const session = await findSession(o.db, raw);
  if (!session) throw new SandgateError('CONSOLE_SESSION_REQUIRED');
  if (mutating && req.headers[CSRF_HEADER] !== session.csrfToken) {
    await audit(o.db, {
      actor: `user:${session.user.name}`,
      action: `${method} /api/${path.join('/')}`,
      outcome: 'refused',
      details: { code: 'CONSOLE_CSRF_REJECTED' },
    });
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

  const agentId = () => parsePathParam(b, uuidParam, 'agentId');
  const groupId = () => parsePathParam(b, rowIdParam, 'groupId');
  const taskId = () => parsePathParam(b, uuidParam, 'taskId');
  switch (route) {
    case 'GET session':
      return sendJson(res, 200, {
        user: { name: session.user.name, role: session.user.role, permissions: permissionsOf(session.user.role) },
        csrfToken: session.csrfToken,
        allPermissions: PERMISSIONS,
        roles: ROLE_NAMES,
      });
    case 'POST logout':
      await readJson(req, emptyBodySchema);
      if (raw) await deleteSession(o.db, raw);
      await audit(o.db, { actor, action: 'session.logout', outcome: 'ok' });
      return sendJson(res, 200, { ok: true }, { 'set-cookie': `${SESSION_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0` });
    case 'GET agents':
      view(session);
      return sendJson(res, 200, await agentsWithCa(o.db, o.ca, parseQuery(url, QUERIES[route])));
    case 'GET agents/:/events': {
      view(session);
      return sendJson(res, 200, { events: await pageEvents(o.db, { ...parseQuery(url, QUERIES[route]), agent: agentId() }) });
    }
    case 'GET events':
      view(session);
      return sendJson(res, 200, { events: await pageEvents(o.db, parseQuery(url, QUERIES[route])) });
    case 'POST agents/:/group': {
      const id = agentId();
      const body = await readJson(req, assignBodySchema);
      return mutate('manage-policy', 'agent.assign-group', id, async () => {
        await assignAgent(o.db, id, body.groupId);
        o.notifier.wakeAgent(id);
      });
    }
    case 'POST agents/:/revoke': {
      const id = agentId();
      await readJson(req, emptyBodySchema);
      return mutate('manage-policy', 'agent.revoke', id, async () => {
        await performOp({ db: o.db, actor, onAgentChanged: (changed) => o.notifier.wakeAgent(changed) }, 'agent-revoke', { agentId: id });
      });
    }
    case 'GET groups':
      view(session);
      // Secrets are write-only: every role, admins included, sees that one is set, never its value.
      return sendJson(res, 200, { groups: (await listGroups(o.db)).map((g) => ({ ...g, policy: hidePolicySecrets(g.policy) })) });
    case 'POST groups': {
      const body = await readJson(req, groupCreateBodySchema);
      return mutate('manage-policy', 'group.create', body.name, () => createGroup(o.db, body.name));
    }
    case 'PUT groups/:/policy': {
      // The document the page edits may hold the console-only `groupActions` section: it is stored apart (agents never
      // see it) and changing it needs manage-ioc-tasks as well. Left out, the group's actions stay as they are.
      const id = groupId();
      const body = await readJson(req, policyBodySchema);
      const doc = body.policy;
      const hasActions = doc !== null && Object.hasOwn(doc, 'groupActions');
      const { groupActions, ...agentPolicy } = doc ?? {};
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
          // `{"set": true}` keeps a stored secret (answers never show one): resolved before anything is written.
          const full = policy === null ? null : keepPolicySecrets(policy, stored.policy);
          if (actionsChange) await setGroupActions(o.db, id, groupActions);
          // Only a change the agents would see makes a new revision (and makes them reload).
          if (stableJson(stored.policy) === stableJson(full)) return { revision: stored.policy_revision };
          const out = await setGroupPolicy(o.db, id, full, actor);
          o.notifier.wakeGroup(id);
          return out;
        },
        actionsChange ? { groupActions: true } : {},
      );
    }
    case 'GET policy-schema':
      // Every key of a policy document with what it takes, its default and its description (from the zod schemas).
      view(session);
      return sendJson(res, 200, { keys: policyKeys() });
    case 'POST policy/:': {
      // Checks without saving (the editor asks as the administrator types): a viewer may ask, changes nothing, so it is
      // not audited; saving is `PUT groups/:id/policy`, with its permission and audit row.
      if (b !== 'validate') throw notFound();
      view(session);
      const body = await readJson(req, policyValidateBodySchema);
      const stored = (await listGroups(o.db)).find((g) => g.id === body.groupId);
      if (!stored) throw new SandgateError('CONSOLE_NOT_FOUND', `no group with id ${body.groupId}`);
      const issues = checkPolicyDocument(body.policy, stored.policy);
      return sendJson(res, 200, { valid: issues.length === 0, issues });
    }
    case 'GET groups/:/history': {
      view(session);
      // Earlier policies hold the secrets of their day: hidden exactly as in the current one.
      const history = await policyHistory(o.db, groupId());
      return sendJson(res, 200, { history: history.map((h) => ({ ...h, policy: hidePolicySecrets(h.policy) })) });
    }
    case 'POST groups/:/rollback': {
      const id = groupId();
      const body = await readJson(req, policyRollbackBodySchema);
      return mutate(
        'manage-policy',
        'group.rollback-policy',
        b!,
        async () => {
          const out = await rollBackPolicy(o.db, id, body.revision, actor);
          o.notifier.wakeGroup(id);
          return out;
        },
        { toRevision: body.revision },
      );
    }
    case 'PUT groups/:/actions': {
      const id = groupId();
      const body = await readJson(req, actionsBodySchema);
      return mutate('manage-ioc-tasks', 'group.set-actions', b!, () => setGroupActions(o.db, id, body.groupActions));
    }
    case 'GET tasks': {
      view(session);
      const { limit } = parseQuery(url, QUERIES[route]);
      return sendJson(res, 200, { tasks: await listGroupTasks(o.db, limit) });
    }
    case 'GET tasks/:': {
      view(session);
      const task = await readGroupTask(o.db, taskId());
      return sendJson(res, 200, {
        task: { ...task, witness: await readWitnessStatus(o.db, task.id, { sandboxConfigured: o.sandboxConfigured === true }) },
      });
    }
    case 'GET tasks/:/agent-ioc':
      view(session);
      return sendJson(res, 200, await readAgentClaim(o.db, taskId()));
    case 'POST tasks/:/approve': {
      // The operator's second witness: the same permission as the group actions that quarantine fleet-wide.
      const id = taskId();
      await readJson(req, emptyBodySchema);
      return mutate('manage-ioc-tasks', 'group-task.approve', id, async () => {
        const { wake } = await approveGroupTask(o.db, id, actor);
        for (const agent of wake) o.notifier.wakeAgent(agent);
        return { approved: true, notified: wake.length };
      });
    }
    case 'POST tasks/:/cancel': {
      const id = taskId();
      await readJson(req, emptyBodySchema);
      return mutate('manage-ioc-tasks', 'group-task.cancel', id, async () => {
        const { wake } = await cancelGroupTask(o.db, id, actor);
        for (const agent of wake) o.notifier.wakeAgent(agent);
        return { cancelled: true, notified: wake.length };
      });
    }
    case 'POST hunts': {
      // An operator's own hunt for a group (issue 18): the permission of every group task; checked before the file is.
      const body = await readJson(req, huntCreateBodySchema);
      const bytes = Buffer.from(body.contentBase64, 'base64');
      return mutate(
        'manage-ioc-tasks',
        'hunt.create',
        String(body.groupId),
        () => createHuntTask({ db: o.db, wake: (id) => o.notifier.wakeAgent(id) }, body.groupId, bytes, body, actor),
        huntAuditDetails(body, bytes),
      );
    }
    case 'POST quarantine/:': {
      if (b !== 'restore') throw notFound();
      // Undoing a quarantine fleet-wide is the counterpart of the group tasks that quarantine: the same permission.
      const raw = await readJson(req, z.unknown());
      const parsed = restoreRequestBodySchema.safeParse(raw);
      const r = raw as { sha256?: unknown; agentId?: unknown; groupId?: unknown; allow?: unknown } | null;
      const target = String(r?.sha256 ?? '');
      const details = { agentId: r?.agentId ?? null, groupId: r?.groupId ?? null, allow: r?.allow === true };
      // Declaring a false positive (`allow`) also changes the group's policy for good: both permissions.
      return mutate(
        details.allow ? ['manage-ioc-tasks', 'manage-policy'] : 'manage-ioc-tasks',
        'quarantine.restore',
        target,
        async () => {
          if (!parsed.success)
            throw invalidInput('body', parsed.error, 'a restore needs {sha256, agentId} or {sha256, groupId}, and optionally allow: true');
          const { id, wake, allowed, duplicate } = await createRestoreRequest(o.db, parsed.data, actor);
          for (const agentId of wake) o.notifier.wakeAgent(agentId);
          // Every member gets the new allow list, not only the workstation the object is restored on.
          if (allowed) o.notifier.wakeGroup(allowed.groupId);
          // The same restore still running: its id, nothing sent again.
          return { id, workstations: wake.length, ...(duplicate ? { duplicate } : {}), ...(allowed ? { allowed } : {}) };
        },
        details,
      );
    }
    case 'GET restores': {
      view(session);
      const { limit } = parseQuery(url, QUERIES[route]);
      return sendJson(res, 200, { restores: await listRestoreRequests(o.db, limit) });
    }
    case 'GET restores/:':
      view(session);
      return sendJson(res, 200, { restore: await readRestoreRequest(o.db, parsePathParam(b, uuidParam, 'restoreId')) });
    case 'GET restore-requests':
      view(session);
      return sendJson(res, 200, await listRestoreInbox(o.db, parseQuery(url, QUERIES[route])));
    case 'POST restore-requests/:/approve': {
      // An employee's request: the same permissions as the restore it starts (allow: the group's policy as well).
      const id = parsePathParam(b, uuidParam, 'requestId');
      const body = await readJson(req, restoreApproveBodySchema);
      return mutate(
        body.allow ? ['manage-ioc-tasks', 'manage-policy'] : 'manage-ioc-tasks',
        'restore-request.approve',
        id,
        async () => {
          const { request, wake, allowed } = await answerRestoreRequest(o.db, id, { decision: 'approved', allow: body.allow }, actor);
          for (const agent of wake) o.notifier.wakeAgent(agent);
          if (allowed) o.notifier.wakeGroup(allowed.groupId);
          return { request, ...(allowed ? { allowed } : {}) };
        },
        { allow: body.allow === true },
      );
    }
    case 'POST restore-requests/:/decline': {
      const id = parsePathParam(b, uuidParam, 'requestId');
      const body = await readJson(req, restoreDeclineBodySchema);
      return mutate(
        'manage-ioc-tasks',
        'restore-request.decline',
        id,
        async () => {
          const { request, wake } = await answerRestoreRequest(o.db, id, { decision: 'declined', reason: body.reason }, actor);
          for (const agent of wake) o.notifier.wakeAgent(agent);
          return { request };
        },
        { reason: body.reason },
      );
    }
    case 'GET audit': {
      view(session);
      const { limit, before } = parseQuery(url, QUERIES[route]);
      return sendJson(res, 200, { entries: await readAudit(o.db, limit, before) });
    }
    case 'POST users': {
      const body = await readJson(req, userAddBodySchema);
      return mutate('manage-users', 'user.add', body.name, async () => {
        const u = await performOp({ db: o.db, actor }, 'user-add', body);
        return { name: u.name, role: u.role };
      });
    }
    case 'POST tokens': {
      const body = await readJson(req, tokenCreateBodySchema);
      return mutate('manage-policy', 'token.create', body.group ?? '', async () => {
        const out = await createTokenOp({ db: o.db, actor }, body);
        return {
          ...out,
          caFingerprint: o.ca?.fingerprint ?? null,
          enrollLine: enrollCommandLine(out.enrollUrls[0], out.token, o.ca?.fingerprint),
        };
      });
    }
    default:
      throw notFound();
  }
}
