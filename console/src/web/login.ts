import type { IncomingMessage, ServerResponse } from 'node:http';
import { loginBodySchema, SandgateError } from '@sandgate/shared';
import type { Db } from '../db/db.ts';
import { audit } from '../audit/audit-log.ts';
import { readJson, sendJson } from '../http/http-util.ts';
import { permissionsOf } from '../users/permissions.ts';
import { createSession, SESSION_COOKIE, SESSION_TTL_MS } from '../users/sessions.ts';
import { checkLogin } from '../users/users.ts';
import { addressBucket, type LoginReport, type LoginThrottle } from '../users/login-throttle.ts';
import { isKnownClient, rememberKnownClient } from '../users/known-clients.ts';
import { clearPairShared, countFailureShared, forgetIdleCounters, loadCounters } from '../users/throttle-store.ts';

/** One clean-up of idle counters per throttle (and so per process), at most once a minute. */
const cleanUps = new WeakMap<LoginThrottle, () => Promise<void>>();

/** A login row's throttling details: the lockouts its failure started, and the refusals since the last row counted them. */
function throttleDetails(r: LoginReport): Record<string, unknown> {
  return {
    ...(r.lockouts.length ? { lockouts: r.lockouts.map((l) => ({ rule: l.rule, seconds: Math.ceil(l.lockoutMs / 1000) })) } : {}),
    ...(Object.values(r.refusedBefore).some(Boolean) ? { refusedWhileThrottled: r.refusedBefore } : {}),
  };
}

/**
 * `POST /api/login`: the throttle first (before any scrypt work), then the password, then a session. Every check
 * made is audited; refusals are counted into those rows rather than written one by one (login-throttle.ts).
 */
export async function login(o: { db: Db; loginThrottle: LoginThrottle }, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req, loginBodySchema);
  // The socket's own address: the console terminates TLS itself, so no forwarded-for header is trusted.
  const address = req.socket.remoteAddress ?? 'unknown';
  const bucket = addressBucket(address);
  const keys = o.loginThrottle.keysOf(body.name, address);
  // The counters every console process shares, then the throttle's rules on them.
  await loadCounters(o.db, o.loginThrottle, keys);
  // Before the password is hashed: a locked name or address must cost the console no scrypt work.
  const known = o.loginThrottle.needsKnownClient(body.name) && (await isKnownClient(o.db, body.name, bucket).catch(() => false));
  const admission = o.loginThrottle.admit(body.name, address, { known });
  if (!admission.allowed) {
    const retryAfter = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
    // Not one row per refusal (anyone can send them): the throttle says which refusal stands for the others.
    if (admission.report) {
      await audit(o.db, {
        actor: 'anonymous',
        action: 'session.login',
        target: body.name,
        outcome: 'refused',
        details: {
          code: 'CONSOLE_LOGIN_THROTTLED',
          rule: admission.rule,
          address,
          retryAfterSeconds: retryAfter,
          refused: admission.report.refused,
        },
      });
    }
    res.setHeader('retry-after', String(retryAfter));
    const why = {
      capacity: 'The console is checking too many logins at once',
      account: 'Too many failed logins for this user from addresses it has not logged in from',
      pair: 'Too many failed logins for this user from this address',
      address: 'Too many failed logins from this address',
    }[admission.rule];
    throw new SandgateError('CONSOLE_LOGIN_THROTTLED', `${why}; try again in ${retryAfter} s`, {
      params: { retryAfterSeconds: retryAfter },
    });
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
    const ticket = admission.ticket;
    let report: LoginReport;
    try {
      report = await countFailureShared(o.db, o.loginThrottle, keys, () => ticket.failed());
    } catch (err) {
      // Counted here only (the database failed): this process still holds the lockout.
      ticket.failed();
      throw err;
    }
    let cleanUp = cleanUps.get(o.loginThrottle);
    if (!cleanUp) cleanUps.set(o.loginThrottle, (cleanUp = forgetIdleCounters(o.db, o.loginThrottle)));
    await cleanUp().catch(() => {});
    await audit(o.db, {
      actor: 'anonymous',
      action: 'session.login',
      target: body.name,
      outcome: 'refused',
      details: { code: 'CONSOLE_LOGIN_FAILED', address, ...throttleDetails(report) },
    });
    throw new SandgateError('CONSOLE_LOGIN_FAILED');
  }
  const report = admission.ticket.succeeded();
  await clearPairShared(o.db, keys);
  await rememberKnownClient(o.db, user.name, bucket);
  const s = await createSession(o.db, user);
  await audit(o.db, {
    actor: `user:${user.name}`,
    action: 'session.login',
    outcome: 'ok',
    details: { address, ...throttleDetails(report) },
  });
  return sendJson(
    res,
    200,
    { user: { name: user.name, role: user.role, permissions: permissionsOf(user.role) }, csrfToken: s.csrfToken },
    { 'set-cookie': `${SESSION_COOKIE}=${s.cookieValue}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=${SESSION_TTL_MS / 1000}` },
  );
}
