import { isIPv6 } from 'node:net';

/** When failed logins lock a key out, and for how long. */
export interface LoginThrottlePolicy {
  /** Failures of one user name, each within `windowMs` of the one before, that lock that name. */
  maxFailuresPerName: number;
  /** The same for one client address, whatever names it tries (password spraying). */
  maxFailuresPerAddress: number;
  /** A key with no failure for this long starts again from zero (unless it is locked). */
  windowMs: number;
  /** The first lockout; each further failure after a lockout doubles it. */
  baseLockoutMs: number;
  maxLockoutMs: number;
  /** Keys remembered at most (per rule): stale ones are forgotten first, then unlocked ones, then the oldest. */
  maxEntries: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottlePolicy = {
  maxFailuresPerName: 5,
  maxFailuresPerAddress: 10,
  windowMs: 15 * 60_000,
  baseLockoutMs: 60_000,
  maxLockoutMs: 15 * 60_000,
  maxEntries: 10_000,
};

export type ThrottleRule = 'user' | 'address';

/** A login attempt let through to the password check: report how it ended, exactly once. */
export interface LoginTicket {
  succeeded(): void;
  failed(): void;
  /** The check could not be made (the database failed): counts neither way. */
  abandoned(): void;
}

export type LoginAdmission =
  | { allowed: true; ticket: LoginTicket }
  | { allowed: false; rule: ThrottleRule; retryAfterMs: number };

interface Entry {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
  /** Attempts admitted whose password check has not ended: counted as failures-to-be, so a burst of parallel
   * requests cannot all slip in before the first failure is recorded. */
  inFlight: number;
}

/**
 * Failed-login throttling for the web console, per user name and per client address. It is consulted before the
 * password hash is computed, so a locked name or address costs the console no scrypt work; unknown names are counted
 * exactly like real ones, so the answer never tells whether a user exists.
 *
 * State is in memory: right for one console process (a restart forgets it). Several console processes behind one
 * name would need it in the database, or each would allow its own share of guesses.
 *
 * A locked name also locks out its rightful owner until the lockout ends: that is the price of stopping a guesser who
 * changes address; the lockout is capped (15 min) so it cannot be held for long without further failures.
 */
export class LoginThrottle {
  readonly policy: LoginThrottlePolicy;
  private readonly now: () => number;
  private readonly names = new Map<string, Entry>();
  private readonly addresses = new Map<string, Entry>();

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
    byName.inFlight++;
    byAddress.inFlight++;
    this.remember(this.names, name, byName);
    this.remember(this.addresses, addressKey, byAddress);
    let done = false;
    const end = (ok: boolean | undefined) => {
      if (done) return;
      done = true;
      byName.inFlight--;
      byAddress.inFlight--;
      const at = this.now();
      if (ok === undefined) return;
      if (ok) {
        // The right password for this name: its count starts again. The address keeps its count (the attacker may
        // well own one valid account).
        if (byName.inFlight === 0) this.names.delete(name);
        else Object.assign(byName, { failures: 0, lockedUntil: 0 });
        return;
      }
      this.fail(byName, this.policy.maxFailuresPerName, at);
      this.fail(byAddress, this.policy.maxFailuresPerAddress, at);
      this.remember(this.names, name, byName);
      this.remember(this.addresses, addressKey, byAddress);
    };
    return { allowed: true, ticket: { succeeded: () => end(true), failed: () => end(false), abandoned: () => end(undefined) } };
  }

  private refusal(rule: ThrottleRule, e: Entry, max: number, now: number): LoginAdmission | undefined {
    if (e.lockedUntil > now) return { allowed: false, rule, retryAfterMs: e.lockedUntil - now };
    // Past a lockout, one attempt at a time (its failure locks again, for twice as long); before the limit, only as
    // many in parallel as could still fail without passing it, so a burst cannot all slip in before the first failure.
    const busy = e.failures >= max ? e.inFlight > 0 : e.failures + e.inFlight >= max;
    return busy ? { allowed: false, rule, retryAfterMs: 1000 } : undefined;
  }

  private fail(e: Entry, max: number, now: number): void {
    e.failures++;
    e.lastFailureAt = now;
    if (e.failures >= max) {
      const lockout = Math.min(this.policy.baseLockoutMs * 2 ** (e.failures - max), this.policy.maxLockoutMs);
      e.lockedUntil = Math.max(e.lockedUntil, now + lockout);
    }
  }

  /** The key's entry, reset when its last failure is older than the window and it is not locked. */
  private entry(map: Map<string, Entry>, key: string, now: number): Entry {
    const e = map.get(key);
    if (!e) return { failures: 0, lastFailureAt: 0, lockedUntil: 0, inFlight: 0 };
    if (e.inFlight === 0 && e.lockedUntil <= now && now - e.lastFailureAt > this.policy.windowMs) {
      e.failures = 0;
      e.lockedUntil = 0;
    }
    return e;
  }

  /** Stores the entry as the most recent, forgetting stale entries (then the oldest) beyond `maxEntries`. */
  private remember(map: Map<string, Entry>, key: string, e: Entry): void {
    map.delete(key);
    map.set(key, e);
    if (map.size <= this.policy.maxEntries) return;
    const now = this.now();
    const stale = (e: Entry) => e.lockedUntil <= now && now - e.lastFailureAt > this.policy.windowMs;
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
