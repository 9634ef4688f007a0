import type { Queryable } from '../db/db.ts';

/** An address counts as the user's own for this long after their last login from it. */
export const KNOWN_CLIENT_DAYS = 90;

/** Whether `name` logged in successfully from `bucket` (an address bucket of the login throttle) recently. */
export async function isKnownClient(db: Queryable, name: string, bucket: string): Promise<boolean> {
  const rows = await db.query(
    `SELECT 1 FROM login_known_clients WHERE user_name = $1 AND address = $2 AND last_ok_at > now() - make_interval(days => $3)`,
    [name, bucket, KNOWN_CLIENT_DAYS],
  );
  return rows.length > 0;
}

/** Records a successful login of `name` from `bucket`. */
export async function rememberKnownClient(db: Queryable, name: string, bucket: string): Promise<void> {
  await db.query(
    `INSERT INTO login_known_clients (user_name, address) VALUES ($1, $2)
     ON CONFLICT (user_name, address) DO UPDATE SET last_ok_at = now()`,
    [name, bucket],
  );
}
