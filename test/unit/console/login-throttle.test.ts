import { describe, expect, it } from 'vitest';
import { addressBucket, LoginThrottle, type LoginAdmission } from '#console/users/login-throttle.ts';

const MIN = 60_000;

/** A throttle on a clock the test moves by hand. */
function throttle(policy = {}) {
  let now = 1_000_000;
  const t = new LoginThrottle({ policy, now: () => now });
  const tick = (ms: number) => (now += ms);
  const attempt = (name: string, address: string, ok: boolean, known = false): LoginAdmission => {
    const a = t.admit(name, address, { known });
    if (a.allowed) (ok ? a.ticket.succeeded : a.ticket.failed)();
    return a;
  };
  /** Whether an attempt would be let through (it is then abandoned, so it counts neither way). */
  const admissible = (name: string, address: string, known = false): boolean => {
    const a = t.admit(name, address, { known });
    if (a.allowed) a.ticket.abandoned();
    return a.allowed;
  };
  return { t, tick, attempt, admissible };
}

describe('console login throttling', () => {
  it('five wrong passwords for one name from one address lock that name for that address only: the sixth is refused before any check, even a right one', () => {
    const { t, attempt, admissible } = throttle();
    for (let i = 0; i < 5; i++) expect(attempt('alice', '10.0.0.1', false).allowed).toBe(true);
    expect(t.admit('alice', '10.0.0.1')).toEqual({ allowed: false, rule: 'pair', retryAfterMs: MIN });
    // Alice from her own address is not concerned by what another address did with her name.
    expect(admissible('alice', '10.0.0.2')).toBe(true);
  });

  it('an unknown name is counted exactly like a real one (the answer never says whether a user exists)', () => {
    const { t, attempt } = throttle();
    for (let i = 0; i < 5; i++) attempt('nobody-here', '10.0.0.1', false);
    expect(t.admit('nobody-here', '10.0.0.1')).toMatchObject({ allowed: false, rule: 'pair' });
  });

  it('failures spread over names from one address lock the address for every name', () => {
    const { t, attempt } = throttle();
    for (let i = 0; i < 10; i++) expect(attempt(`guess-${i}`, '10.0.0.1', false).allowed).toBe(true);
    expect(t.admit('admin', '10.0.0.1')).toMatchObject({ allowed: false, rule: 'address' });
    // Another address is not concerned.
    expect(t.admit('admin', '10.0.0.2').allowed).toBe(true);
  });

  it('twenty failures of one name from many addresses lock it for addresses it never logged in from; the addresses it did keep their access', () => {
    const { t, attempt, admissible } = throttle();
    for (let i = 0; i < 20; i++) expect(attempt('alice', `10.0.${i}.1`, false).allowed).toBe(true);
    expect(t.needsKnownClient('alice')).toBe(true);
    expect(t.admit('alice', '10.9.9.9')).toEqual({ allowed: false, rule: 'account', retryAfterMs: MIN });
    expect(admissible('alice', '192.168.1.20', true)).toBe(true);
    // Other names are not concerned, and nothing needs to be looked up for them.
    expect(t.needsKnownClient('bob')).toBe(false);
    expect(admissible('bob', '10.9.9.9')).toBe(true);
  });

  it('each failure after a lockout doubles it, up to 15 minutes', () => {
    const { t, tick, attempt } = throttle();
    for (let i = 0; i < 5; i++) attempt('alice', '10.0.1.1', false);
    const lockouts: number[] = [];
    for (let round = 0; round < 6; round++) {
      const refused = t.admit('alice', '10.0.1.1');
      if (refused.allowed) throw new Error('expected a lockout');
      lockouts.push(refused.retryAfterMs);
      tick(refused.retryAfterMs);
      expect(attempt('alice', '10.0.1.1', false).allowed).toBe(true);
    }
    expect(lockouts).toEqual([1, 2, 4, 8, 15, 15].map((m) => m * MIN));
  });

  it('after the lockout the right password works and starts the name from zero for that address', () => {
    const { t, tick, attempt } = throttle();
    for (let i = 0; i < 5; i++) attempt('alice', '10.0.0.1', false);
    tick(MIN);
    expect(attempt('alice', '10.0.0.1', true).allowed).toBe(true);
    // Four more failures do not lock it again: the count was reset by the success.
    for (let i = 0; i < 4; i++) attempt('alice', '10.0.0.1', false);
    expect(t.admit('alice', '10.0.0.1').allowed).toBe(true);
  });

  it('one failure is forgotten per 15 minutes: four mistakes, then a quiet quarter of an hour, leave room for one more', () => {
    const { tick, attempt, admissible } = throttle();
    for (let i = 0; i < 4; i++) attempt('alice', '10.0.0.1', false);
    tick(15 * MIN + 1);
    attempt('alice', '10.0.0.1', false);
    expect(admissible('alice', '10.0.0.1')).toBe(true);
    // An hour and a quarter later every failure is paid off: five more are needed to lock it.
    tick(75 * MIN);
    for (let i = 0; i < 4; i++) attempt('alice', '10.0.0.1', false);
    expect(admissible('alice', '10.0.0.1')).toBe(true);
  });

  it('a guesser who changes address for every guess and keeps to twenty per quarter of an hour is locked all the same', () => {
    const { t, tick } = throttle();
    let seen = '';
    let n = 0;
    for (let quarter = 0; quarter < 4; quarter++) {
      for (let i = 0; i < 20; i++) {
        // A new address each time: only the name's count over every address can stop this guesser.
        const a = t.admit('alice', `10.${quarter}.${i}.${++n % 250}`);
        if (a.allowed) a.ticket.failed();
        seen += a.allowed ? 'c' : 'R';
      }
      tick(15 * MIN + 1);
      seen += '|';
    }
    // c: password checked, R: refused. From the second quarter hour on, about one guess per quarter hour.
    expect(seen).toBe(`${'c'.repeat(20)}|c${'R'.repeat(19)}|c${'R'.repeat(19)}|c${'R'.repeat(19)}|`);
  });

  it('waiting out a lockout does not pay off the failures that caused it', () => {
    const { t, tick, attempt } = throttle();
    for (let i = 0; i < 5; i++) attempt('alice', '10.0.0.1', false);
    tick(MIN);
    // Still at the limit: one attempt at a time, and its failure locks again, for twice as long.
    expect(attempt('alice', '10.0.0.1', false).allowed).toBe(true);
    expect(t.admit('alice', '10.0.0.1')).toMatchObject({ allowed: false, rule: 'pair', retryAfterMs: 2 * MIN });
  });

  it('a burst of parallel attempts is let through only up to the limit, so it cannot make the console hash at will', () => {
    // The limits on checks at once are separate rules (below): out of the way here.
    const { t } = throttle({ maxConcurrentChecks: 100, maxConcurrentChecksPerAddress: 100 });
    const admitted = Array.from({ length: 50 }, () => t.admit('alice', '10.0.0.1')).filter((a) => a.allowed);
    expect(admitted).toHaveLength(5);
  });

  it('a password check that could not be made (database down) counts neither way', () => {
    const { t } = throttle();
    for (let i = 0; i < 30; i++) {
      const a = t.admit('alice', '10.0.0.1');
      if (!a.allowed) throw new Error('refused');
      a.ticket.abandoned();
    }
    expect(t.admit('alice', '10.0.0.1').allowed).toBe(true);
  });

  it('remembers a bounded number of keys, and flooding it with new names does not unlock a locked one', () => {
    const { t, tick, attempt } = throttle({ maxEntries: 3 });
    for (let i = 0; i < 5; i++) attempt('alice', '10.0.0.1', false);
    tick(MIN / 2);
    for (let i = 0; i < 10; i++) attempt(`spray-${i}`, `10.0.9.${i}`, false);
    // The sprayed names, neither locked nor old, are dropped before the locked one.
    expect(t.admit('alice', '10.0.0.1')).toMatchObject({ allowed: false, rule: 'pair' });
  });

  it('counts IPv6 clients by their /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressBucket('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(addressBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
  });

  it('the failure that locks a name says so, and refusals during the lockout are counted into the next attempt instead of reported one by one', () => {
    const { t, tick } = throttle();
    const fail = () => {
      const a = t.admit('alice', '10.0.0.1');
      if (!a.allowed) throw new Error('refused');
      return a.ticket.failed();
    };
    for (let i = 0; i < 4; i++) expect(fail().lockouts).toEqual([]);
    expect(fail()).toEqual({ lockouts: [{ rule: 'pair', lockoutMs: MIN }], refusedBefore: { pair: 0, address: 0, account: 0 } });

    const refusals = Array.from({ length: 30 }, () => t.admit('alice', '10.0.0.1'));
    expect(refusals.every((r) => !r.allowed && r.rule === 'pair' && r.report === undefined)).toBe(true);

    tick(MIN);
    const next = t.admit('alice', '10.0.0.1');
    if (!next.allowed) throw new Error('refused');
    expect(next.ticket.succeeded()).toEqual({ lockouts: [], refusedBefore: { pair: 30, address: 0, account: 0 } });
  });

  it('no more than four passwords are checked at once, whatever the names and addresses: the fifth attempt waits for one to end', () => {
    const { t } = throttle();
    const running = Array.from({ length: 4 }, (_, i) => t.admit(`user-${i}`, `2001:db8:${i}::1`));
    expect(running.every((a) => a.allowed)).toBe(true);
    expect(t.admit('admin', '2001:db8:99::1')).toMatchObject({ allowed: false, rule: 'capacity', retryAfterMs: 1000 });
    const first = running[0]!;
    if (first.allowed) first.ticket.failed();
    expect(t.admit('admin', '2001:db8:99::1').allowed).toBe(true);
  });

  it('one address holds one check at a time: it cannot fill the slots the others need', () => {
    const { t } = throttle();
    const first = t.admit('user-1', '10.0.0.1');
    expect(first.allowed).toBe(true);
    expect(t.admit('user-2', '10.0.0.1')).toMatchObject({ allowed: false, rule: 'capacity' });
    expect(t.admit('admin', '10.0.0.2').allowed).toBe(true);
  });

  it('while strangers fill every slot, a user on an address they logged in from before still gets a check', () => {
    const { t } = throttle();
    const running = Array.from({ length: 4 }, (_, i) => t.admit(`guess-${i}`, `2001:db8:${i}::1`));
    expect(running.every((a) => a.allowed)).toBe(true);
    expect(t.needsKnownClient('ada')).toBe(true);
    expect(t.admit('ada', '192.168.1.20')).toMatchObject({ allowed: false, rule: 'capacity' });
    const ada = t.admit('ada', '192.168.1.20', { known: true });
    expect(ada.allowed).toBe(true);
    // One slot is kept for known users: a second one waits like anyone else.
    expect(t.admit('bob', '192.168.1.21', { known: true })).toMatchObject({ allowed: false, rule: 'capacity' });
    if (ada.allowed) ada.ticket.succeeded();
    expect(t.admit('bob', '192.168.1.21', { known: true }).allowed).toBe(true);
  });

  it('refusals for want of capacity are reported at most once a minute, each report counting those since the last', () => {
    const { t, tick } = throttle({ maxConcurrentChecks: 1 });
    expect(t.admit('holder', '10.0.0.1').allowed).toBe(true);
    const reports = () =>
      Array.from({ length: 10 }, (_, i) => t.admit(`guess-${i}`, `10.1.0.${i}`)).flatMap((a) =>
        !a.allowed && a.report ? [a.report.refused] : [],
      );
    expect(reports()).toEqual([1]);
    tick(30_000);
    expect(reports()).toEqual([]);
    tick(30_000);
    expect(reports()).toEqual([20]);
  });
});
