import { isIPv6 } from 'node:net';
import { countFailure, counterIsIdle, decayCounter, freshCounter, type CounterTiming, type FailureCounter } from './throttle-counter.ts';

/** When failed logins lock a key out, for how long, and how much password checking may run at once. */
export interface LoginThrottlePolicy extends CounterTiming {
  /** Counted failures of one user name from one address that lock that name for that address only. */
  maxFailuresPerPair: number;
  /** Counted failures from one address, whatever names it tries (password spraying), that lock the address. */
  maxFailuresPerAddress: number;
  /**
   * Counted failures of one user name from every address together that lock the name for the addresses it never
   * logged in from (a guesser spread over many addresses); an address the user logged in from keeps its access.
   */
  maxFailuresPerAccount: number;
  /** Keys remembered at most (per rule): stale ones are forgotten first, then unlocked ones, then the oldest. */
  maxEntries: number;
  /**
   * Password checks running at once, whatever the name and address (each is a scrypt hash: 32 MiB and tens of
   * milliseconds). Many addresses (an IPv6 /48 holds 65,536 /64 buckets) could otherwise each force their own share.
   */
  maxConcurrentChecks: number;
  /** Of those, how many one address may hold: its fair share, so one client cannot fill them all. */
  maxConcurrentChecksPerAddress: number;
  /**
   * Checks kept, beyond `maxConcurrentChecks`, for a user name from an address it logged in from before: while
   * strangers fill every other slot, a known user still gets a check.
   */
  reservedChecksForKnownClients: number;
  /** Refusals for want of capacity are reported at most this often, each report counting those since the last. */
  capacityReportMs: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottlePolicy = {
  maxFailuresPerPair: 5,
  maxFailuresPerAddress: 10,
  maxFailuresPerAccount: 20,
  decayMs: 15 * 60_000,
  baseLockoutMs: 60_000,
  maxLockoutMs: 15 * 60_000,
  maxEntries: 10_000,
  // libuv runs four hashes at a time by default: more would only queue (and hold their memory) behind them.
  maxConcurrentChecks: 4,
  maxConcurrentChecksPerAddress: 1,
  reservedChecksForKnownClients: 1,
  capacityReportMs: 60_000,
};

/** The counted rules: a name from one address, an address, a name from every address it is not known at. */
export type CountedRule = 'pair' | 'address' | 'account';
/** What refused an attempt: a counted rule, or the console's limit on password checks running at once. */
export type ThrottleRule = CountedRule | 'capacity';
const COUNTED: readonly CountedRule[] = ['pair', 'address', 'account'];

/** How an admitted attempt ended, for its audit row. */
export interface LoginReport {
  /** The lockouts this failure started, one per rule it took to its limit. */
  lockouts: Array<{ rule: CountedRule; lockoutMs: number }>;
  /** Attempts refused under this attempt's keys since the last report that counted them. */
  refusedBefore: Record<CountedRule, number>;
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
       * capacity refusals are written, at most once per `capacityReportMs`; the others are counted into the next
       * admitted attempt's report, since their lockout is already in the row of the failure that started it.
       */
      report?: { refused: number };
    };

interface Entry extends FailureCounter {
  /** Attempts admitted whose password check has not ended: counted as failures-to-be, so a burst of parallel
   * requests cannot all slip in before the first failure is recorded. */
  inFlight: number;
  /** Attempts this key refused that no report has counted yet. */
  refused: number;
}

export type Keys = Record<CountedRule, string>;

/**
 * Failed-login throttling for the web console. It is consulted before the password hash is computed, so a refused
 * attempt costs no scrypt work; unknown names are counted exactly like real ones, so the answer never tells whether a
 * user exists.
 *
 * Who decides whose access: failures lock a *name for one address* (`pair`), so a guesser elsewhere cannot keep the
 * rightful user out; an *address* that sprays many names; and a *name for every address it never logged in from*
 * (`account`), so a guesser spread over many addresses is bounded too while the user keeps logging in from the
 * addresses they logged in from before (`known`, kept in the database by the caller). A user on a new address
 * while their name is under such an attack waits for the lockout like anyone else.
 *
 * The audit log grows with failures, not with refusals: a lockout is written in the row of the failure that started it,
 * refusals are counted and the count goes into the next row for those keys, and capacity refusals get one row per
 * `capacityReportMs`. An unauthenticated client cannot make the database grow faster than it can fail.
 *
 * The counters are kept here as `FailureCounter` rows keyed by rule and key; the login route shares them with the
 * other console processes through the database (`throttle-store.ts`: read before `admit`, counted under a row lock via
 * `adopt` and `counters`). Checks in flight, refusals not yet reported and the capacity limits belong to this process:
 * they bound its own CPU and memory.
 */
export class LoginThrottle {
  readonly policy: LoginThrottlePolicy;
  /** The throttle's clock (ms since 1970): the counters' times, also in the database, are on it. */
  readonly now: () => number;
  private readonly maps: Record<CountedRule, Map<string, Entry>> = { pair: new Map(), address: new Map(), account: new Map() };
  private checks = 0;
  private reservedChecks = 0;
  private capacityRefused = 0;
  private capacityReportedAt = -Infinity;

  constructor(o: { policy?: Partial<LoginThrottlePolicy>; now?: () => number } = {}) {
    this.policy = { ...DEFAULT_LOGIN_THROTTLE, ...o.policy };
    this.now = o.now ?? Date.now;
  }

  /**
   * Whether `admit` needs to be told if this name logged in from this address before (a database read the caller
   * makes): only while the name is locked for strangers or every ordinary slot for password checks is taken.
   */
  needsKnownClient(name: string): boolean {
    const account = this.maps.account.get(name);
    return this.checks >= this.policy.maxConcurrentChecks || (account !== undefined && this.waitOf('account', account, this.now()) > 0);
  }

  /**
   * Whether an attempt for `name` from `address` may go on to the password check. `known`: this name logged in from
   * this address before (see `needsKnownClient`; when in doubt, false).
   */
  admit(name: string, address: string, o: { known?: boolean } = {}): LoginAdmission {
    const keys = this.keysOf(name, address);
    const known = o.known ?? false;
    const now = this.now();
    const e = {
      pair: this.entry('pair', keys.pair, now),
      address: this.entry('address', keys.address, now),
      account: this.entry('account', keys.account, now),
    };
    // The address first: a sprayer is told about the rule that actually stops it, whatever name it tries next.
    for (const rule of ['address', 'pair', 'account'] as const) {
      if (rule === 'account' && known) continue;
      const retryAfterMs = this.waitOf(rule, e[rule], now);
      if (retryAfterMs) {
        e[rule].refused++;
        return { allowed: false, rule, retryAfterMs };
      }
    }
    if (e.address.inFlight >= this.policy.maxConcurrentChecksPerAddress) return this.capacityRefusal(now);
    let reserved = false;
    if (this.checks >= this.policy.maxConcurrentChecks) {
      if (!known || this.reservedChecks >= this.policy.reservedChecksForKnownClients) return this.capacityRefusal(now);
      reserved = true;
    }
    if (reserved) this.reservedChecks++;
    else this.checks++;
    for (const rule of COUNTED) {
      e[rule].inFlight++;
      this.remember(rule, keys[rule], e[rule]);
    }
    let done = false;
    const end = (ok: boolean | undefined): LoginReport => {
      const report: LoginReport = { lockouts: [], refusedBefore: { pair: 0, address: 0, account: 0 } };
      if (done) return report;
      done = true;
      if (reserved) this.reservedChecks--;
      else this.checks--;
      for (const rule of COUNTED) e[rule].inFlight--;
      if (ok === undefined) return report;
      for (const rule of COUNTED) {
        report.refusedBefore[rule] = e[rule].refused;
        e[rule].refused = 0;
      }
      const at = this.now();
      if (ok) {
        // The right password from this address: its count for this name starts again. The address keeps its count
        // (the attacker may well own one valid account), and so does the name for strangers.
        if (e.pair.inFlight === 0) this.maps.pair.delete(keys.pair);
        else Object.assign(e.pair, { failures: 0, lockedUntil: 0 });
        return report;
      }
      for (const rule of COUNTED) {
        const lockoutMs = countFailure(e[rule], this.maxOf(rule), at, this.policy);
        if (lockoutMs) report.lockouts.push({ rule, lockoutMs });
        this.remember(rule, keys[rule], e[rule]);
      }
      return report;
    };
    return { allowed: true, ticket: { succeeded: () => end(true), failed: () => end(false), abandoned: () => void end(undefined) } };
  }

  /** The key each counted rule uses for an attempt for `name` from `address`. */
  keysOf(name: string, address: string): Keys {
    const bucket = addressBucket(address);
    return { pair: JSON.stringify([name, bucket]), address: bucket, account: name };
  }

  /**
   * Takes the counters another store holds (the database every console process shares) as the truth for these
   * keys: failures, decay start and lockout end; `undefined` is a key with nothing counted. Attempts in flight and
   * refusals not yet reported stay this process's own.
   */
  adopt(keys: Keys, counters: Partial<Record<CountedRule, FailureCounter>>): void {
    const now = this.now();
    for (const rule of COUNTED) {
      const e = this.maps[rule].get(keys[rule]);
      const c = counters[rule] ?? freshCounter(now);
      if (e) Object.assign(e, { failures: c.failures, decayFrom: c.decayFrom, lockedUntil: c.lockedUntil });
      else if (counters[rule]) this.remember(rule, keys[rule], { ...c, inFlight: 0, refused: 0 });
    }
  }

  /** The counters of these keys as this process holds them (after `adopt` and a ticket's end: what to store). */
  counters(keys: Keys): Record<CountedRule, FailureCounter> {
    const now = this.now();
    const of = (rule: CountedRule): FailureCounter => {
      const e = this.maps[rule].get(keys[rule]);
      return e ? { failures: e.failures, decayFrom: e.decayFrom, lockedUntil: e.lockedUntil } : freshCounter(now);
    };
    return { pair: of('pair'), address: of('address'), account: of('account') };
  }

  private maxOf(rule: CountedRule): number {
    return { pair: this.policy.maxFailuresPerPair, address: this.policy.maxFailuresPerAddress, account: this.policy.maxFailuresPerAccount }[
      rule
    ];
  }

  /** How long this key refuses attempts (0: it does not). */
  private waitOf(rule: CountedRule, e: Entry, now: number): number {
    if (e.lockedUntil > now) return e.lockedUntil - now;
    const max = this.maxOf(rule);
    // Past a lockout, one attempt at a time (its failure locks again, for twice as long); before the limit, only as
    // many in parallel as could still fail without passing it, so a burst cannot all slip in before the first failure.
    return (e.failures >= max ? e.inFlight > 0 : e.failures + e.inFlight >= max) ? 1000 : 0;
  }

  private capacityRefusal(now: number): LoginAdmission {
    this.capacityRefused++;
    if (now - this.capacityReportedAt < this.policy.capacityReportMs) return { allowed: false, rule: 'capacity', retryAfterMs: 1000 };
    const report = { refused: this.capacityRefused };
    this.capacityRefused = 0;
    this.capacityReportedAt = now;
    return { allowed: false, rule: 'capacity', retryAfterMs: 1000, report };
  }

  /** The key's entry, with the failures it has paid off forgotten. */
  private entry(rule: CountedRule, key: string, now: number): Entry {
    const e = this.maps[rule].get(key);
    if (!e) return { ...freshCounter(now), inFlight: 0, refused: 0 };
    decayCounter(e, now, this.policy);
    return e;
  }

  /** Stores the entry as the most recent, forgetting stale entries (then the oldest) beyond `maxEntries`. */
  private remember(rule: CountedRule, key: string, e: Entry): void {
    const map = this.maps[rule];
    map.delete(key);
    map.set(key, e);
    if (map.size <= this.policy.maxEntries) return;
    const now = this.now();
    // Stale entries first, then unlocked ones, then the oldest: flooding with fresh names should not unlock a name.
    const passes = [(old: Entry) => counterIsIdle(old, now, this.policy), (old: Entry) => old.lockedUntil <= now, () => true];
    for (const evictable of passes) {
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
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
