import { SandgateError } from '@sandgate/shared';
import type { Db } from '../db/db.ts';
import { audit } from '../audit/audit-log.ts';
import { createEnrollmentToken } from '../agents/enrollment-tokens.ts';
import { knownEnrollAddresses } from '../server/enroll-address.ts';
import { revokeAgent } from '../agents/agents.ts';
import { createGroup, findGroupByName } from '../groups/groups.ts';
import { addUser } from '../users/users.ts';
import { randomPassword } from '../users/password-hash.ts';

/**
 * The administrator operations the command line offers (`token create`, `user add`, `agent revoke`). They run in the
 * `serve` process when one is running (over the control socket) and directly on the database otherwise; either way
 * they are audited under the caller's name (`runOp`; `performOp` is for callers that audit themselves).
 */
export const opSchemas = {
  'token-create': (a: Record<string, unknown>) => ({
    group: typeof a.group === 'string' ? a.group : undefined,
    ttlHours: typeof a.ttlHours === 'number' ? a.ttlHours : undefined,
  }),
  'user-add': (a: Record<string, unknown>) => ({
    name: String(a.name ?? ''),
    role: String(a.role ?? ''),
    password: typeof a.password === 'string' ? a.password : undefined,
  }),
  'agent-revoke': (a: Record<string, unknown>) => ({ agentId: String(a.agentId ?? '') }),
} as const;
export type OpName = keyof typeof opSchemas;

export interface OpContext {
  db: Db;
  actor: string;
  /** Tells running polls that an agent changed (revocation). */
  onAgentChanged?: (agentId: string) => void;
}

export async function runOp(ctx: OpContext, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (!Object.hasOwn(opSchemas, name)) throw new SandgateError('USAGE', `unknown operation ${name}`);
  const op = name as OpName;
  const target = String(args.group ?? args.name ?? args.agentId ?? '');
  try {
    const out = await performOp(ctx, op, args);
    await audit(ctx.db, { actor: ctx.actor, action: auditAction[op], target, outcome: 'ok', details: auditDetails(op, out) });
    return out;
  } catch (err) {
    const code = err instanceof SandgateError ? err.code : 'INTERNAL';
    await audit(ctx.db, { actor: ctx.actor, action: auditAction[op], target, outcome: 'failed', details: { code } }).catch(() => {});
    throw err;
  }
}

const auditAction: Record<OpName, string> = { 'token-create': 'token.create', 'user-add': 'user.add', 'agent-revoke': 'agent.revoke' };

/** Never the token or the password: the audit log is read by more people than the one who made them. */
function auditDetails(op: OpName, out: Record<string, unknown>): Record<string, unknown> {
  if (op === 'token-create') return { group: out.group ?? null, expiresAt: out.expiresAt };
  if (op === 'user-add') return { role: out.role };
  return {};
}

export async function performOp(ctx: OpContext, op: OpName, raw: Record<string, unknown>): Promise<Record<string, unknown>> {
  switch (op) {
    case 'token-create': {
      const a = opSchemas[op](raw);
      let groupId: number | null = null;
      if (a.group) groupId = (await findGroupByName(ctx.db, a.group))?.id ?? (await createGroup(ctx.db, a.group)).id;
      const ttlMs = a.ttlHours !== undefined ? a.ttlHours * 3600_000 : undefined;
      const t = await createEnrollmentToken(ctx.db, { groupId, createdBy: ctx.actor, ...(ttlMs ? { ttlMs } : {}) });
      return { token: t.token, expiresAt: t.expiresAt, group: a.group ?? null, enrollUrls: await knownEnrollAddresses(ctx.db) };
    }
    case 'user-add': {
      const a = opSchemas[op](raw);
      const generated = a.password === undefined;
      const password = a.password ?? randomPassword();
      const u = await addUser(ctx.db, a.name, a.role, password);
      return { name: u.name, role: u.role, ...(generated ? { password } : {}) };
    }
    case 'agent-revoke': {
      const a = opSchemas[op](raw);
      await revokeAgent(ctx.db, a.agentId);
      ctx.onAgentChanged?.(a.agentId);
      return { agentId: a.agentId, revoked: true };
    }
  }
}
