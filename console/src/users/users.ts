import { SandgateError } from '@sandgate/shared';
import type { Queryable } from '../db/db.ts';
import { hashPassword, verifyPassword } from './password-hash.ts';
import { ROLE_NAMES, isRole } from './permissions.ts';

export interface ConsoleUser {
  id: number;
  name: string;
  role: string;
}

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

export async function addUser(db: Queryable, name: string, role: string, password: string): Promise<ConsoleUser> {
  if (!NAME.test(name)) throw new SandgateError('USAGE', `user names are 1–64 letters, digits and . _ @ -: ${JSON.stringify(name)}`);
  if (!isRole(role)) throw new SandgateError('USAGE', `unknown role "${role}" (one of ${ROLE_NAMES.join(', ')})`);
  if (password.length < 12) throw new SandgateError('USAGE', 'console passwords have at least 12 characters');
  const hash = await hashPassword(password);
  const rows = await db.query<ConsoleUser>(
    'INSERT INTO users (name, password_hash, role) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id, name, role',
    [name, hash, role],
  );
  if (!rows[0]) throw new SandgateError('CONSOLE_CONFLICT', `a console user named ${name} already exists`);
  return rows[0];
}

// Checked against when the name is unknown, so "no such user" takes as long as "wrong password".
let dummyHash: Promise<string> | undefined;

/** The user if the password is right; undefined otherwise (never says which of the two was wrong). */
export async function checkLogin(db: Queryable, name: string, password: string): Promise<ConsoleUser | undefined> {
  const rows = await db.query<ConsoleUser & { password_hash: string }>(
    'SELECT id, name, role, password_hash FROM users WHERE name = $1 AND disabled_at IS NULL',
    [name],
  );
  const row = rows[0];
  if (!row) {
    dummyHash ??= hashPassword('not a real password');
    await verifyPassword(password, await dummyHash);
    return undefined;
  }
  return (await verifyPassword(password, row.password_hash)) ? { id: row.id, name: row.name, role: row.role } : undefined;
}

export async function listUsers(db: Queryable): Promise<Array<ConsoleUser & { created_at: string }>> {
  return db.query('SELECT id, name, role, created_at FROM users ORDER BY name');
}
