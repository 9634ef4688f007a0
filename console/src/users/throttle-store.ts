import type { Db, Queryable } from '../db/db.ts';
import type { CountedRule, Keys, LoginReport, LoginThrottle } from './login-throttle.ts';
import type { FailureCounter } from './throttle-counter.ts';

/**
 * The failed-login counters in the database (`login_failures`), so that every console process on one PostgreSQL
 * server counts the same failures and honours the same lockouts: a guesser gains nothing by spreading attempts over
 * the processes. The rules stay in `LoginThrottle`; this file only moves its rows.
 */

type Row = { rule: CountedRule; key: string; failures: number; decay_from: number; locked_until: number };

const SELECT = `SELECT rule, key, failures, decay_from, locked_until FROM login_failures
                 WHERE (rule = 'pair' AND key = $1) OR (rule = 'address' AND key = $2) OR (rule = 'account' AND key = $3)`;

function counters(rows: Row[]): Partial<Record<CountedRule, FailureCounter>> {
  const out: Partial<Record<CountedRule, FailureCounter>> = {};
  for (const r of rows) out[r.rule] = { failures: r.failures, decayFrom: r.decay_from, lockedUntil: r.locked_until };
  return out;
}

/** Before `admit`: this attempt's keys as the database counts them (one indexed read). */
export async function loadCounters(db: Queryable, throttle: LoginThrottle, keys: Keys): Promise<void> {
  throttle.adopt(keys, counters(await db.query<Row>(SELECT, [keys.pair, keys.address, keys.account])));
}

/**
 * A failed password check: counted on the database's rows, locked for the transaction, so two processes counting
 * failures for one key at once both count. Returns the ticket's report (the lockouts it started).
 */
export async function countFailureShared(db: Db, throttle: LoginThrottle, keys: Keys, fail: () => LoginReport): Promise<LoginReport> {
  return db.transaction(async (tx) => {
    const now = throttle.now();
    // Rows for keys never counted yet, so the lock below has something to hold.
    await tx.query(
      `INSERT INTO login_failures (rule, key, failures, decay_from, locked_until)
       VALUES ('pair', $1, 0, $4, 0), ('address', $2, 0, $4, 0), ('account', $3, 0, $4, 0) ON CONFLICT (rule, key) DO NOTHING`,
      [keys.pair, keys.address, keys.account, now],
    );
    throttle.adopt(keys, counters(await tx.query<Row>(`${SELECT} ORDER BY rule, key FOR UPDATE`, [keys.pair, keys.address, keys.account])));
    const report = fail();
    const c = throttle.counters(keys);
    for (const rule of ['pair', 'address', 'account'] as const) {
      await tx.query('UPDATE login_failures SET failures = $3, decay_from = $4, locked_until = $5 WHERE rule = $1 AND key = $2', [
        rule,
        keys[rule],
        c[rule].failures,
        c[rule].decayFrom,
        c[rule].lockedUntil,
      ]);
    }
    return report;
  });
}

/** The right password: this name's count for this address starts again, in every process. */
export async function clearPairShared(db: Queryable, keys: Keys): Promise<void> {
  await db.query(`DELETE FROM login_failures WHERE rule = 'pair' AND key = $1`, [keys.pair]);
}

/**
 * Forgets counters with nothing left to count (no lockout running, every failure paid off by the decay), at most
 * once per `everyMs` per process: the table grows with failures, as the audit log does, and shrinks with time.
 */
export function forgetIdleCounters(db: Queryable, throttle: LoginThrottle, everyMs = 60_000): () => Promise<void> {
  let last = -Infinity;
  const decayMs = throttle.policy.decayMs;
  return async () => {
    const now = throttle.now();
    if (now - last < everyMs) return;
    last = now;
    await db.query('DELETE FROM login_failures WHERE locked_until <= $1 AND decay_from + failures::bigint * $2 <= $1', [now, decayMs]);
  };
}
