import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startConsole, type RunningConsole } from '../../../console/src/server/start-console.ts';
import { LoginThrottle } from '../../../console/src/users/login-throttle.ts';
import { addUser } from '../../../console/src/users/users.ts';
import { readAudit } from '../../../console/src/audit/audit-log.ts';
import { httpsJson, loginAs } from './console-process.ts';

const ALICE_PASSWORD = 'alice-password-for-tests';
const BOB_PASSWORD = 'bob-password-for-tests';
const MIN = 60_000;

// The console runs in this process so the throttle's clock can be moved by hand: the lockout ends when the test says
// so, never after a real wait. Everything else is the real admin HTTPS listener on loopback.
describe('web console login throttling', () => {
  let dataDir: string;
  let c: RunningConsole;
  let now = Date.now();
  const login = (name: string, password: string) => httpsJson(`${c.adminUrl}/api/login`, { method: 'POST', ca: c.ca.certPem, body: { name, password } });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-throttle-'));
    c = await startConsole({ dataDir, host: '127.0.0.1', port: 0, adminPort: 0, loginThrottle: new LoginThrottle({ now: () => now }) });
    await addUser(c.db, 'alice', 'admin', ALICE_PASSWORD);
    await addUser(c.db, 'bob', 'viewer', BOB_PASSWORD);
  });

  afterAll(async () => {
    await c?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('five wrong passwords lock the name: the sixth attempt is refused with 429 and Retry-After, even with the right password', async () => {
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

  it('after the lockout the right password logs in, and the refusals are in the audit log with their reason', async () => {
    now += MIN;
    const admin = await loginAs(c.adminUrl, c.ca.certPem, 'alice', ALICE_PASSWORD);
    const bob = await login('bob', BOB_PASSWORD);
    expect(bob.status).toBe(200);

    const entries = (await admin('GET', 'audit')).body.entries as Array<{ action: string; target: string | null; outcome: string; details: Record<string, unknown> }>;
    const logins = entries.filter((e) => e.action === 'session.login');
    expect(logins).toContainEqual(
      expect.objectContaining({ target: 'alice', outcome: 'refused', details: expect.objectContaining({ code: 'CONSOLE_LOGIN_THROTTLED', rule: 'user', retryAfterSeconds: 60 }) }),
    );
    expect(logins).toContainEqual(expect.objectContaining({ target: 'bob', outcome: 'refused', details: expect.objectContaining({ code: 'CONSOLE_LOGIN_THROTTLED', rule: 'address' }) }));
    expect(logins.filter((e) => e.target === 'alice' && e.details.code === 'CONSOLE_LOGIN_FAILED')).toHaveLength(5);
    expect(logins.filter((e) => e.outcome === 'ok').length).toBeGreaterThanOrEqual(2);
    // The same rows straight from the database, for the address recorded with each refusal.
    const rows = await readAudit(c.db, 100);
    expect(rows.find((r) => r.details.code === 'CONSOLE_LOGIN_THROTTLED')?.details.address).toMatch(/127\.0\.0\.1/);
  });
});
