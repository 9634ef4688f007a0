import { policySchema, SandgateError } from '@sandgate/shared';
import type { Queryable } from '../db/db.ts';

export interface GroupRow {
  id: number;
  name: string;
  policy: Record<string, unknown> | null;
  policy_revision: number;
  /** Console-side group actions (groupActionsSchema), never sent to agents. */
  group_actions: Record<string, unknown> | null;
  updated_at: string;
  members: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

export async function listGroups(db: Queryable): Promise<GroupRow[]> {
  return db.query<GroupRow>(
    `SELECT g.id, g.name, g.policy, g.policy_revision, g.group_actions, g.updated_at,
            (SELECT count(*)::int FROM agents a WHERE a.group_id = g.id AND a.revoked_at IS NULL) AS members
       FROM groups g ORDER BY g.name`,
  );
}

export async function findGroupByName(db: Queryable, name: string): Promise<GroupRow | undefined> {
  return (await listGroups(db)).find((g) => g.name === name);
}

export async function createGroup(db: Queryable, name: string): Promise<{ id: number; name: string }> {
  if (!NAME.test(name))
    throw new SandgateError('USAGE', `group names are 1–64 letters, digits, spaces and . _ -, starting with a letter or digit`);
  const rows = await db.query<{ id: number; name: string }>(
    'INSERT INTO groups (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id, name',
    [name],
  );
  if (!rows[0]) throw new SandgateError('CONSOLE_CONFLICT', `a group named ${name} already exists`);
  return rows[0];
}

/** What the agents' own schema finds wrong in a policy document: each key (dotted path) with its message. */
export function policySchemaIssues(policy: unknown): Array<{ key: string; message: string }> {
  const r = policySchema.safeParse(policy);
  return r.success ? [] : r.error.issues.map((i) => ({ key: i.path.map(String).join('.'), message: i.message }));
}

/**
 * Replaces a group's policy after validating it with the agents' own schema; the revision becomes the next of a sequence shared
 * by all groups, which is what wakes the members' polls. The stored document is the one the admin wrote (defaults are filled in on the agent).
 */
export async function setGroupPolicy(db: Queryable, groupId: number, policy: unknown, setBy: string): Promise<{ revision: number }> {
  if (policy !== null) {
    const issues = policySchemaIssues(policy);
    if (issues.length) {
      throw new SandgateError(
        'POLICY_INVALID',
        `the policy is not valid: ${issues.map((i) => `${i.key || '(top level)'}: ${i.message}`).join('; ')}`,
        {
          params: { issues },
        },
      );
    }
  }
  // One statement, so the new revision and its history row exist together or not at all.
  const rows = await db.query<{ policy_revision: number }>(
    `WITH u AS (
       UPDATE groups SET policy = $2, policy_revision = nextval('policy_revision_seq'), updated_at = now() WHERE id = $1
       RETURNING id, policy_revision, policy)
     INSERT INTO group_policy_history (group_id, revision, policy, set_by)
       SELECT id, policy_revision, policy, $3 FROM u RETURNING revision AS policy_revision`,
    [groupId, policy === null ? null : JSON.stringify(policy), setBy],
  );
  if (!rows[0]) throw new SandgateError('CONSOLE_NOT_FOUND', `no group with id ${groupId}`);
  return { revision: rows[0].policy_revision };
}

export interface PolicyRevision {
  revision: number;
  policy: Record<string, unknown> | null;
  set_by: string;
  set_at: string;
}

/** The group's policies, newest first (at most `limit`); secrets as stored: callers hide them before answering. */
export async function policyHistory(db: Queryable, groupId: number, limit = 50): Promise<PolicyRevision[]> {
  return db.query<PolicyRevision>(
    'SELECT revision, policy, set_by, set_at FROM group_policy_history WHERE group_id = $1 ORDER BY revision DESC LIMIT $2',
    [groupId, limit],
  );
}

/**
 * Makes an earlier policy current again, as a new revision (the history only grows, and agents see a new revision to
 * reload). Its secrets come back as they were then.
 */
export async function rollBackPolicy(db: Queryable, groupId: number, revision: number, setBy: string): Promise<{ revision: number }> {
  const rows = await db.query<{ policy: Record<string, unknown> | null }>(
    'SELECT policy FROM group_policy_history WHERE group_id = $1 AND revision = $2',
    [groupId, revision],
  );
  if (!rows[0]) throw new SandgateError('CONSOLE_NOT_FOUND', `group ${groupId} never had policy revision ${revision}`);
  return setGroupPolicy(db, groupId, rows[0].policy, setBy);
}

export async function assignAgent(db: Queryable, agentId: string, groupId: number | null): Promise<void> {
  if (groupId !== null) {
    const g = await db.query('SELECT 1 FROM groups WHERE id = $1', [groupId]);
    if (!g.length) throw new SandgateError('CONSOLE_NOT_FOUND', `no group with id ${groupId}`);
  }
  const rows = await db.query('UPDATE agents SET group_id = $2 WHERE id = $1 RETURNING id', [agentId, groupId]);
  if (!rows.length) throw new SandgateError('CONSOLE_NOT_FOUND', `no workstation with id ${agentId}`);
}
