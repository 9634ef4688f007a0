import { groupActionsSchema, SandgateError, type GroupActions } from '@sandgate/shared';
import type { Queryable } from '../db/db.ts';

/** JSON with object keys sorted: two documents that differ only in key order compare equal. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Validates group actions (null removes them); the stored form has every default filled in. */
export function parseGroupActions(raw: unknown): GroupActions | null {
  if (raw === null) return null;
  const r = groupActionsSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ key: ['groupActions', ...i.path.map(String)].join('.'), message: i.message }));
    throw new SandgateError(
      'POLICY_INVALID',
      `the group actions are not valid: ${issues.map((i) => `${i.key}: ${i.message}`).join('; ')}`,
      { params: { issues } },
    );
  }
  return r.data;
}

export async function readGroupActions(db: Queryable, groupId: number): Promise<GroupActions | null> {
  const rows = await db.query<{ group_actions: unknown }>('SELECT group_actions FROM groups WHERE id = $1', [groupId]);
  if (!rows[0]) throw new SandgateError('CONSOLE_NOT_FOUND', `no group with id ${groupId}`);
  const r = groupActionsSchema.safeParse(rows[0].group_actions);
  return r.success ? r.data : null;
}

/** Whether storing `raw` would change the group's actions (an invalid document counts as a change: it is refused later). */
export async function groupActionsDiffer(db: Queryable, groupId: number, raw: unknown): Promise<boolean> {
  const current = await readGroupActions(db, groupId).catch(() => null);
  let next: GroupActions | null;
  try {
    next = parseGroupActions(raw);
  } catch {
    return true;
  }
  return stableJson(current) !== stableJson(next);
}

export async function setGroupActions(db: Queryable, groupId: number, raw: unknown): Promise<{ groupActions: GroupActions | null }> {
  const parsed = parseGroupActions(raw);
  const rows = await db.query('UPDATE groups SET group_actions = $2, updated_at = now() WHERE id = $1 RETURNING id', [
    groupId,
    parsed === null ? null : JSON.stringify(parsed),
  ]);
  if (!rows.length) throw new SandgateError('CONSOLE_NOT_FOUND', `no group with id ${groupId}`);
  return { groupActions: parsed };
}
