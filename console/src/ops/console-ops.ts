import { huntOptionsSchema, SandgateError } from '@sandgate/shared';
import { z } from 'zod';
import type { Db } from '../db/db.ts';
import { audit } from '../audit/audit-log.ts';
import { createEnrollmentToken } from '../agents/enrollment-tokens.ts';
import { knownEnrollAddresses } from '../server/enroll-address.ts';
import { revokeAgent } from '../agents/agents.ts';
import { createGroup, findGroupByName } from '../groups/groups.ts';
import { addUser } from '../users/users.ts';
import { randomPassword } from '../users/password-hash.ts';
import { createHuntTask, huntAuditDetails } from '../hunts/hunt-request.ts';
import { caStatus, readCaFolder, retireCa, rotateCa } from '../pki/ca-rotation.ts';

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
  'ca-rotate': () => ({}),
  'ca-retire': (a: Record<string, unknown>) => ({ force: a.force === true }),
  'ca-status': () => ({}),
  'hunt-create': (a: Record<string, unknown>) => {
    const r = huntOpSchema.safeParse(a);
    if (!r.success)
      throw new SandgateError('USAGE', `hunt create: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return r.data;
  },
} as const;

/** `hunt create` over the control socket: the group by name, the file as read by the command line. */
const huntOpSchema = z.strictObject({
  group: z.string().min(1).max(64),
  fileName: z.string().min(1).max(255),
  contentBase64: z.string().max(2 * 1024 * 1024),
  options: huntOptionsSchema,
});
export type OpName = keyof typeof opSchemas;

/**
 * What `token create` answers. The command line gets it as JSON from the `serve` process's control socket when one
 * runs, so it parses it with this schema rather than trusting its shape.
 */
export const tokenCreatedSchema = z.object({
  token: z.string(),
  expiresAt: z.string(),
  group: z.string().nullable(),
  /** The addresses `serve` processes recorded for workstations to reach (see enroll-address.ts); the first is the one printed. */
  enrollUrls: z.array(z.string()),
});
export type TokenCreated = z.infer<typeof tokenCreatedSchema>;

/** `token create`, typed: the one place a token and the addresses to enroll with are made (web console and command line). */
export async function createTokenOp(ctx: OpContext, raw: Record<string, unknown>): Promise<TokenCreated> {
  const a = opSchemas['token-create'](raw);
  let groupId: number | null = null;
  if (a.group) groupId = (await findGroupByName(ctx.db, a.group))?.id ?? (await createGroup(ctx.db, a.group)).id;
  const ttlMs = a.ttlHours !== undefined ? a.ttlHours * 3600_000 : undefined;
  const t = await createEnrollmentToken(ctx.db, { groupId, createdBy: ctx.actor, ...(ttlMs ? { ttlMs } : {}) });
  return { token: t.token, expiresAt: t.expiresAt, group: a.group ?? null, enrollUrls: await knownEnrollAddresses(ctx.db) };
}

export interface OpContext {
  db: Db;
  actor: string;
  /** Tells running polls that an agent changed (revocation). */
  onAgentChanged?: (agentId: string) => void;
  /** The console's data folder (its CA): needed by the `ca` operations. */
  dataDir?: string;
  /** A running serve reloads its CA and TLS settings after `ca rotate` / `ca retire`. */
  onCaChanged?: () => void;
}

export async function runOp(ctx: OpContext, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (!Object.hasOwn(opSchemas, name)) throw new SandgateError('USAGE', `unknown operation ${name}`);
  const op = name as OpName;
  // A read: not audited (the audit log records changes and refusals).
  if (op === 'ca-status') return performOp(ctx, op, args);
  const target = op.startsWith('ca-') ? 'ca' : String(args.group ?? args.name ?? args.agentId ?? '');
  // A hunt's file is audited whatever becomes of it (its SHA-256, size, format), as from the web console.
  const before = op === 'hunt-create' ? huntOpDetails(args) : {};
  try {
    const out = await performOp(ctx, op, args);
    await audit(ctx.db, {
      actor: ctx.actor,
      action: auditAction[op],
      target,
      outcome: 'ok',
      details: { ...before, ...auditDetails(op, out) },
    });
    return out;
  } catch (err) {
    const code = err instanceof SandgateError ? err.code : 'INTERNAL';
    await audit(ctx.db, { actor: ctx.actor, action: auditAction[op], target, outcome: 'failed', details: { ...before, code } }).catch(
      () => {},
    );
    throw err;
  }
}

const auditAction: Record<OpName, string> = {
  'token-create': 'token.create',
  'user-add': 'user.add',
  'agent-revoke': 'agent.revoke',
  'hunt-create': 'hunt.create',
  'ca-rotate': 'ca.rotate',
  'ca-retire': 'ca.retire',
  'ca-status': 'ca.status',
};

function huntOpDetails(args: Record<string, unknown>): Record<string, unknown> {
  const r = huntOpSchema.safeParse(args);
  if (!r.success) return {};
  return huntAuditDetails(
    { groupId: -1, fileName: r.data.fileName, options: r.data.options },
    Buffer.from(r.data.contentBase64, 'base64'),
    r.data.group,
  );
}

/** Never the token or the password: the audit log is read by more people than the one who made them. */
function auditDetails(op: OpName, out: Record<string, unknown>): Record<string, unknown> {
  if (op === 'token-create') return { group: out.group ?? null, expiresAt: out.expiresAt };
  if (op === 'user-add') return { role: out.role };
  if (op === 'hunt-create') return { taskId: out.id, workstations: out.workstations };
  if (op === 'ca-rotate') return { inService: out.inService, next: out.next };
  if (op === 'ca-retire') return { retired: out.retired, inService: out.inService, agentsLeft: out.agentsLeft };
  return {};
}

function dataDirOf(ctx: OpContext): string {
  if (!ctx.dataDir) throw new SandgateError('INTERNAL', 'the CA operations need the console data folder');
  return ctx.dataDir;
}

export async function performOp(ctx: OpContext, op: OpName, raw: Record<string, unknown>): Promise<Record<string, unknown>> {
  switch (op) {
    case 'ca-rotate': {
      const out = await rotateCa(ctx.db, dataDirOf(ctx));
      ctx.onCaChanged?.();
      return out;
    }
    case 'ca-retire': {
      const out = await retireCa(ctx.db, dataDirOf(ctx), opSchemas[op](raw).force);
      ctx.onCaChanged?.();
      return out;
    }
    case 'ca-status':
      return { ...(await caStatus(ctx.db, readCaFolder(dataDirOf(ctx)))) };
    case 'token-create':
      return createTokenOp(ctx, raw);
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
    case 'hunt-create': {
      // Whoever runs the command line on the console's machine can read its database: a local administrator, as for
      // `user add`. Another operator still has to approve a hunt that quarantines (in the web console).
      const a = opSchemas[op](raw);
      const group = await findGroupByName(ctx.db, a.group);
      if (!group) throw new SandgateError('CONSOLE_NOT_FOUND', `no group named ${a.group}`);
      const bytes = Buffer.from(a.contentBase64, 'base64');
      const out = await createHuntTask({ db: ctx.db, wake: ctx.onAgentChanged }, group.id, bytes, a, ctx.actor);
      return { ...out, groupName: group.name };
    }
  }
}
