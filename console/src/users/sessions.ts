import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/db.ts';
import type { ConsoleUser } from './users.ts';

export const SESSION_COOKIE = 'sandgate_session';
export const SESSION_TTL_MS = 8 * 3600_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export interface Session {
  user: ConsoleUser;
  csrfToken: string;
}

export async function createSession(
  db: Queryable,
  user: ConsoleUser,
  now = new Date(),
): Promise<{ cookieValue: string; csrfToken: string }> {
  const cookieValue = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  await db.query('INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)', [
    sha256(cookieValue),
    user.id,
    csrfToken,
    new Date(now.getTime() + SESSION_TTL_MS).toISOString(),
  ]);
  return { cookieValue, csrfToken };
}

export async function findSession(db: Queryable, cookieValue: string | undefined): Promise<Session | undefined> {
  if (!cookieValue) return undefined;
  const rows = await db.query<{ id: number; name: string; role: string; csrf_token: string }>(
    `SELECT u.id, u.name, u.role, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL`,
    [sha256(cookieValue)],
  );
  const r = rows[0];
  return r ? { user: { id: r.id, name: r.name, role: r.role }, csrfToken: r.csrf_token } : undefined;
}

export async function deleteSession(db: Queryable, cookieValue: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE id_hash = $1 OR expires_at < now()', [sha256(cookieValue)]);
}
