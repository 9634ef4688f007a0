import { createHash, randomBytes } from 'node:crypto';
import { SandgateError } from '@sandgate/shared';
import type { Queryable } from '../db/db.ts';

export const DEFAULT_TOKEN_TTL_MS = 24 * 3600_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Makes a one-time enrollment token. Only its hash is stored; the token is shown once, to whoever made it. */
export async function createEnrollmentToken(
  db: Queryable,
  opts: { groupId: number | null; createdBy: string; ttlMs?: number; now?: Date },
): Promise<{ token: string; expiresAt: string }> {
  const token = `sgt_${randomBytes(24).toString('base64url')}`;
  const expiresAt = new Date((opts.now ?? new Date()).getTime() + (opts.ttlMs ?? DEFAULT_TOKEN_TTL_MS)).toISOString();
  await db.query('INSERT INTO enrollment_tokens (token_hash, group_id, created_by, expires_at) VALUES ($1, $2, $3, $4)', [
    sha256(token),
    opts.groupId,
    opts.createdBy,
    expiresAt,
  ]);
  return { token, expiresAt };
}

/**
 * Marks the token used by `agentId` and returns its group, in the caller's transaction. The UPDATE … WHERE used_at IS
 * NULL is the single point that makes a token work once, even when two agents present it at the same moment.
 */
export async function consumeEnrollmentToken(tx: Queryable, token: string, agentId: string): Promise<{ groupId: number | null }> {
  const rows = await tx.query<{ group_id: number | null }>(
    `UPDATE enrollment_tokens SET used_at = now(), used_by = $2
      WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING group_id`,
    [sha256(token), agentId],
  );
  if (!rows[0])
    throw new SandgateError(
      'CONSOLE_TOKEN_INVALID',
      'The enrollment token is unknown, already used or expired; ask for a new one (sandgate-console token create)',
    );
  return { groupId: rows[0].group_id };
}
