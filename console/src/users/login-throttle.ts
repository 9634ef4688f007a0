import { isIPv6 } from 'node:net';

/** When failed logins lock a key out, for how long, and how much password checking may run at once. */
export interface LoginThrottlePolicy {
  /** Counted failures of one user name that lock that name. */
  maxFailuresPerName: number;
  /** The same for one client address, whatever names it tries (password spraying). */
  maxFailuresPerAddress: number;
  /**
   * One counted failure is forgotten per this much time outside a lockout (a leaky bucket, not a window that resets):
   * a guesser who keeps just under the limit per window still locks as soon as failures come faster than this.
   */
  decayMs: number;
  /** The first lockout; each further failure after a lockout doubles it. */
  baseLockoutMs: number;
  maxLockoutMs: number;
  /** Keys remembered at most (per rule): stale ones are forgotten first, then unlocked ones, then the oldest. */
  maxEntries: number;
  /**
   * Password checks running at once, whatever the name and address (each is a scrypt hash: 32 MiB and tens of
   * milliseconds). Many addresses (an IPv6 /48 holds 65,536 /64 buckets) could otherwise each force their own share.
   */
  maxConcurrentChecks: number;
  /** Refusals for want of capacity are reported at most this often, each report counting those since the last. */
  capacityReportMs: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottlePolicy = {
  maxFailuresPerName: 5,
  maxFailuresPerAddress: 10,
  decayMs: 15 * 60_000,
  baseLockoutMs: 60_000,
  maxLockoutMs: 15 * 60_000,
  maxEntries: 10_000,
  // libuv runs four hashes at a time by default: more would only queue (and hold their memory) behind them.
  maxConcurrentChecks: 4,
  capacityReportMs: 60_000,
};

/** What refused an attempt: its user name, its address, or the console's overall limit on password checks. */
export type ThrottleRule = 'user' | 'address' | 'capacity';

/** How an admitted attempt ended, for its audit row. */
export interface LoginReport {
  /** The lockouts this failure started, one per rule it took to its limit. */
  lockouts: Array<{ rule: 'user' | 'address'; lockoutMs: number }>;
  /** Attempts refused under this attempt's name and address since the last report that counted them. */
  refusedBefore: { user: number; address: number };
}

/** A login attempt let through to the password check: report how it ended, exactly once. */
export interface LoginTicket {
  succeeded(): LoginReport;
  failed(): LoginReport;
  /** The check could not be made (the database failed): counts neither way. */
  abandoned(): void;
}

export type LoginAdmission =
  | { allowed: true; ticket: LoginTicket }
  | {
      allowed: false;
      rule: ThrottleRule;
      retryAfterMs: number;
      /**
       * Set on the one refusal to write to the audit log, with how many refusals it stands for (itself included). Only
       * capacity refusals are written, at most once per `capacityReportMs`; those by name or address are counted into
       * the next admitted attempt's report, since their lockout is already in the row of the failure that started it.
       */
      report?: { refused: number };
    };

interface Entry {
  failures: number;
  /** From when the count next loses a failure: the first failure counted, or the end of the lockout. */
  decayFrom: number;
  lockedUntil: number;
  /** Attempts admitted whose password check has not ended: counted as failures-to-be, so a burst of parallel
   * requests cannot all slip in before the first failure is recorded. */
  inFlight: number;
  /** Attempts this key refused that no report has counted yet. */
  refused: number;
}

/**
 * Failed-login throttling for the web console, per user name and per client address, and an overall limit on password
 * checks running at once. It is consulted before the password hash is computed, so a refused attempt costs the
 * console no scrypt work; unknown names are counted exactly like real ones, so the answer never tells whether a user
 * exists.
 *
 * The audit log grows with failures, not with refusals: a lockout is written in the row of the failure that started it,
 * refusals are counted and the count goes into the next row for that name or address, and capacity refusals get one
 * row per `capacityReportMs`. An unauthenticated client cannot make the database grow faster than it can fail.
 *
 * State is in memory: right for one console process (a restart forgets it). Several console processes behind one
 * name would need it in the database, or each would allow its own share of guesses.
 *
 * A locked name also locks out its rightful owner until the lockout ends: that is the price of stopping a guesser who
 * changes address; the lockout is capped (15 min) so it cannot be held for long without further failures. So is the
 * capacity limit: while it is full, the rightful owner is refused too, for a second at a time.
 */
export class LoginThrottle {
  readonly policy: LoginThrottlePolicy;
  private readonly now: () => number;
  private readonly names = new Map<string, Entry>();
  private readonly addresses = new Map<string, Entry>();
  private checks = 0;
  private capacityRefused = 0;
  private capacityReportedAt = -Infinity;

  constructor(o: { policy?: Partial<LoginThrottlePolicy>; now?: () => number } = {}) {
    this.policy = { ...DEFAULT_LOGIN_THROTTLE, ...o.policy };
    this.now = o.now ?? Date.now;
  }

  /** Whether an attempt for `name` from `address` may go on to the password check. */
  admit(name: string, address: string): LoginAdmission {
    const now = this.now();
    const addressKey = addressBucket(address);
    const byName = this.entry(this.names, name, now);
    const byAddress = this.entry(this.addresses, addressKey, now);
    // The address first: a sprayer is told about the rule that actually stops it, whatever name it tries next.
    const refusal = this.refusal('address', byAddress, this.policy.maxFailuresPerAddress, now) ?? this.refusal('user', byName, this.policy.maxFailuresPerName, now);
    if (refusal) return refusal;
    if (this.checks >= this.policy.maxConcurrentChecks) return this.capacityRefusal(now);
    this.checks++;
    byName.inFlight++;
    byAddress.inFlight++;
    this.remember(this.names, name, byName);
    this.remember(this.addresses, addressKey, byAddress);
    let done = false;
    const end = (ok: boolean | undefined): LoginReport => {
      const report: LoginReport = { lockouts: [], refusedBefore: { user: 0, address: 0 } };
      if (done) return report;
      done = true;
      this.checks--;
      byName.inFlight--;
      byAddress.inFlight--;
      const at = this.now();
      if (ok === undefined) return report;
      report.refusedBefore = { user: byName.refused, address: byAddress.refused };
      byName.refused = 0;
      byAddress.refused = 0;
      if (ok) {
        // The right password for this name: its count starts again. The address keeps its count (the attacker may
        // well own one valid account).
        if (byName.inFlight === 0) this.names.delete(name);
        else Object.assign(byName, { failures: 0, lockedUntil: 0 });
        return report;
      }
      for (const [rule, e, max] of [['user', byName, this.policy.maxFailuresPerName], ['address', byAddress, this.policy.maxFailuresPerAddress]] as const) {
        const lockoutMs = this.fail(e, max, at);
        if (lockoutMs) report.lockouts.push({ rule, lockoutMs });
      }
      this.remember(this.names, name, byName);
      this.remember(this.addresses, addressKey, byAddress);
      return report;
    };
    return { allowed: true, ticket: { succeeded: () => end(true), failed: () => end(false), abandoned: () => void end(undefined) } };
  }

  private refusal(rule: 'user' | 'address', e: Entry, max: number, now: number): LoginAdmission | undefined {
    let retryAfterMs = 0;
    if (e.lockedUntil > now) retryAfterMs = e.lockedUntil - now;
    // Past a lockout, one attempt at a time (its failure locks again, for twice as long); before the limit, only as
    // many in parallel as could still fail without passing it, so a burst cannot all slip in before the first failure.
    else if (e.failures >= max ? e.inFlight > 0 : e.failures + e.inFlight >= max) retryAfterMs = 1000;
    if (!retryAfterMs) return undefined;
    e.refused++;
    return { allowed: false, rule, retryAfterMs };
  }

  private capacityRefusal(now: number): LoginAdmission {
    this.capacityRefused++;
    if (now - this.capacityReportedAt < this.policy.capacityReportMs) return { allowed: false, rule: 'capacity', retryAfterMs: 1000 };
    const report = { refused: this.capacityRefused };
    this.capacityRefused = 0;
    this.capacityReportedAt = now;
    return { allowed: false, rule: 'capacity', retryAfterMs: 1000, report };
  }

  /** Counts a failure; returns the lockout it starts, if any. */
  private fail(e: Entry, max: number, now: number): number | undefined {
    this.decay(e, now);
    if (e.failures === 0) e.decayFrom = now;
    e.failures++;
    if (e.failures < max) return undefined;
    const lockout = Math.min(this.policy.baseLockoutMs * 2 ** (e.failures - max), this.policy.maxLockoutMs);
    e.lockedUntil = Math.max(e.lockedUntil, now + lockout);
    // Nothing is forgotten during a lockout, or waiting it out would also pay off the failures that caused it.
    e.decayFrom = e.lockedUntil;
    return lockout;
  }

  /** Forgets one failure per whole `decayMs` since `decayFrom` (never during a lockout: `decayFrom` is its end). */
  private decay(e: Entry, now: number): void {
    const steps = Math.floor((now - e.decayFrom) / this.policy.decayMs);
    if (steps <= 0 || e.failures === 0) return;
    e.failures = Math.max(0, e.failures - steps);
    e.decayFrom += steps * this.policy.decayMs;
  }

  /** The key's entry, with the failures it has paid off forgotten. */
  private entry(map: Map<string, Entry>, key: string, now: number): Entry {
    const e = map.get(key);
    if (!e) return { failures: 0, decayFrom: now, lockedUntil: 0, inFlight: 0, refused: 0 };
    this.decay(e, now);
    return e;
  }

  /** Stores the entry as the most recent, forgetting stale entries (then the oldest) beyond `maxEntries`. */
  private remember(map: Map<string, Entry>, key: string, e: Entry): void {
    map.delete(key);
    map.set(key, e);
    if (map.size <= this.policy.maxEntries) return;
    const now = this.now();
    const stale = (e: Entry) => {
      this.decay(e, now);
      return e.failures === 0 && e.lockedUntil <= now;
    };
    // Stale entries first, then unlocked ones, then the oldest: flooding with fresh names should not unlock a name.
    for (const evictable of [stale, (e: Entry) => e.lockedUntil <= now, () => true]) {
      for (const [k, old] of map) {
        if (map.size <= this.policy.maxEntries) return;
        if (old.inFlight === 0 && k !== key && evictable(old)) map.delete(k);
      }
    }
  }
}

/**
 * The address a rule counts: IPv4 as is (an IPv4-mapped IPv6 address as its IPv4 form), IPv6 by its /64, since one
 * machine can use any address of its /64.
 */
export function addressBucket(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.toLowerCase().split('::') as [string, string?];
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
