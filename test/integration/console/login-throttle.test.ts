import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startConsole, type RunningConsole } from '#console/server/start-console.ts';
import { LoginThrottle } from '#console/users/login-throttle.ts';
import { addUser } from '#console/users/users.ts';
import { readAudit } from '#console/audit/audit-log.ts';
import { httpsJson, loginAs } from './console-process.ts';

const ALICE_PASSWORD = 'alice-password-for-tests';
const BOB_PASSWORD = 'bob-password-for-tests';
const DAVE_PASSWORD = 'dave-password-for-tests';
const MIN = 60_000;

// The console runs in this process so the throttle's clock can be moved by hand: the lockout ends when the test says
// so, never after a real wait. Everything else is the real admin HTTPS listener on loopback.
describe('web console login throttling', () => {
  let dataDir: string;
  let c: RunningConsole;
  let now = Date.now();
  const throttle = new LoginThrottle({ now: () => now });
  const loginRows = async () =>
    c.db.query<{ target: string | null; outcome: string; details: Record<string, unknown> }>(
      "SELECT target, outcome, details FROM audit_log WHERE action = 'session.login' ORDER BY id",
    );
  const login = (name: string, password: string) =>
    httpsJson(`${c.adminUrl}/api/login`, { method: 'POST', ca: c.ca.certPem, body: { name, password } });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-throttle-'));
    c = await startConsole({ dataDir, host: '127.0.0.1', port: 0, adminPort: 0, loginThrottle: throttle });
    await addUser(c.db, 'alice', 'admin', ALICE_PASSWORD);
    await addUser(c.db, 'bob', 'viewer', BOB_PASSWORD);
  });

  afterAll(async () => {
    await c?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('five wrong passwords lock the name for this address: the sixth attempt is refused with 429 and Retry-After, even with the right password', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await login('alice', `wrong password ${i}`);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('CONSOLE_LOGIN_FAILED');
    }
    const sixth = await login('alice', ALICE_PASSWORD);
    expect(sixth.status).toBe(429);
    expect(sixth.body.error).toMatchObject({ code: 'CONSOLE_LOGIN_THROTTLED', retryable: true, params: { retryAfterSeconds: 60 } });
    expect(sixth.headers['retry-after']).toBe('60');
    expect(sixth.headers['set-cookie']).toBeUndefined();
  });

  it('an unknown name gets the same answers as a real one', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await login('mallory-does-not-exist', `guess ${i}`));
    expect(answers.map((a) => a.body.error.code)).toEqual([...Array(5).fill('CONSOLE_LOGIN_FAILED'), 'CONSOLE_LOGIN_THROTTLED']);
    expect(answers[5]!.headers['retry-after']).toBe('60');
  });

  it('the address that failed ten times is refused for every name, a user with the right password included', async () => {
    // alice's five and the unknown name's five came from this address: it is now locked as a whole.
    const bob = await login('bob', BOB_PASSWORD);
    expect(bob.status).toBe(429);
    expect(bob.body.error.code).toBe('CONSOLE_LOGIN_THROTTLED');
  });

  it('after the lockout the right password logs in; the log has each failure, the lockouts in the failures that caused them, and the refusals counted', async () => {
    now += MIN;
    const admin = await loginAs(c.adminUrl, c.ca.certPem, 'alice', ALICE_PASSWORD);
    const bob = await login('bob', BOB_PASSWORD);
    expect(bob.status).toBe(200);

    const entries = (await admin('GET', 'audit')).body.entries as Array<{
      action: string;
      target: string | null;
      outcome: string;
      details: Record<string, unknown>;
    }>;
    const logins = entries.filter((e) => e.action === 'session.login');
    expect(logins.filter((e) => e.target === 'alice' && e.details.code === 'CONSOLE_LOGIN_FAILED')).toHaveLength(5);
    // alice's fifth failure locked her name; the unknown name's fifth was the address's tenth and locked both.
    expect(logins).toContainEqual(
      expect.objectContaining({
        target: 'alice',
        details: expect.objectContaining({ code: 'CONSOLE_LOGIN_FAILED', lockouts: [{ rule: 'pair', seconds: 60 }] }),
      }),
    );
    expect(logins).toContainEqual(
      expect.objectContaining({
        target: 'mallory-does-not-exist',
        details: expect.objectContaining({
          lockouts: [
            { rule: 'pair', seconds: 60 },
            { rule: 'address', seconds: 60 },
          ],
        }),
      }),
    );
    // The three refusals (alice's name from here once, the address twice) have no rows of their own: alice's login counts them.
    expect(logins.filter((e) => e.details.code === 'CONSOLE_LOGIN_THROTTLED')).toEqual([]);
    expect(logins).toContainEqual(
      expect.objectContaining({
        outcome: 'ok',
        details: expect.objectContaining({ refusedWhileThrottled: { pair: 1, address: 2, account: 0 } }),
      }),
    );
    // The same rows straight from the database, for the address recorded with each failure.
    const rows = await readAudit(c.db, 100);
    expect(rows.find((r) => r.details.code === 'CONSOLE_LOGIN_FAILED')?.details.address).toMatch(/127\.0\.0\.1/);
  });

  it('a flood of attempts against a locked name adds no audit rows: the next failure counts them and locks it for twice as long', async () => {
    // Three quiet hours: every failure so far is paid off, the address's included.
    now += 3 * 60 * MIN;
    for (let i = 0; i < 5; i++) expect((await login('carol', `guess ${i}`)).status).toBe(401);
    const before = (await loginRows()).length;
    for (let i = 0; i < 20; i++) expect((await login('carol', `guess again ${i}`)).status).toBe(429);
    expect(await loginRows()).toHaveLength(before);

    now += MIN;
    expect((await login('carol', 'one more guess')).status).toBe(401);
    const last = (await loginRows()).at(-1)!;
    expect(last).toMatchObject({
      target: 'carol',
      details: {
        code: 'CONSOLE_LOGIN_FAILED',
        lockouts: [{ rule: 'pair', seconds: 120 }],
        refusedWhileThrottled: { pair: 20, address: 0, account: 0 },
      },
    });
  });

  it('while the console checks as many passwords as it allows, a login from a new address is refused (429) before any hashing, with one audit row a minute; a user on an address they logged in from still gets in', async () => {
    await addUser(c.db, 'dave', 'viewer', DAVE_PASSWORD);
    // Checks of other names from other addresses, still running: they fill every ordinary slot.
    const running = Array.from({ length: throttle.policy.maxConcurrentChecks }, (_, i) =>
      throttle.admit(`elsewhere-${i}`, `2001:db8:${i}::1`),
    );
    const before = (await loginRows()).length;
    const answers = [];
    // dave never logged in from here.
    for (let i = 0; i < 10; i++) answers.push(await login('dave', DAVE_PASSWORD));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(429));
    expect(answers[0]!.body.error).toMatchObject({ code: 'CONSOLE_LOGIN_THROTTLED', params: { retryAfterSeconds: 1 } });
    expect(answers[0]!.headers['retry-after']).toBe('1');
    now += MIN;
    expect((await login('dave', DAVE_PASSWORD)).status).toBe(429);
    const rows = (await loginRows()).slice(before);
    expect(rows.map((r) => r.details)).toEqual([
      expect.objectContaining({ code: 'CONSOLE_LOGIN_THROTTLED', rule: 'capacity', refused: 1 }),
      expect.objectContaining({ code: 'CONSOLE_LOGIN_THROTTLED', rule: 'capacity', refused: 10 }),
    ]);

    // bob logged in from this address before: the slot kept for known users is his.
    expect((await login('bob', BOB_PASSWORD)).status).toBe(200);
    for (const r of running) if (r.allowed) r.ticket.abandoned();
    expect((await login('dave', DAVE_PASSWORD)).status).toBe(200);
  });
});
