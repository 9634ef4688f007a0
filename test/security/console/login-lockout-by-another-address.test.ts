import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsJson } from '../../integration/console/console-process.ts';
import { PASSWORDS, startConsoleWithRoles, type ConsoleWithRoles } from '../../integration/console/console-fixture.ts';

// Issue 14: "five wrong passwords for `ada` from one address, and the right password is refused". The real console
// process, its real clock; the attacker plays from other loopback addresses (127.0.0.2 and up), the admin from
// 127.0.0.1.
describe('an attacker who reaches the web console tries to lock its admin out', () => {
  let c: ConsoleWithRoles;
  const login = (password: string, from: string, name = 'admin') =>
    httpsJson(`${c.adminUrl}/api/login`, { method: 'POST', ca: c.ca, body: { name, password }, localAddress: from });

  beforeAll(async () => {
    c = await startConsoleWithRoles();
  }, 180_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('hammering the admin name from one address locks only that address: the admin logs in from hers', async () => {
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await login(`guess ${i}`, '127.0.0.2'));
    expect(answers.slice(0, 5).map((a) => a.body.error.code)).toEqual(Array(5).fill('CONSOLE_LOGIN_FAILED'));
    expect(answers.slice(5).every((a) => a.status === 429 && a.body.error.code === 'CONSOLE_LOGIN_THROTTLED')).toBe(true);
    // The attacker's own address is locked even for the right password.
    expect((await login(PASSWORDS.admin, '127.0.0.2')).status).toBe(429);

    const admin = await login(PASSWORDS.admin, '127.0.0.1');
    expect(admin.status).toBe(200);
    expect(admin.body.user).toMatchObject({ name: 'admin', role: 'admin' });
  });

  it('a guesser spread over many addresses locks the name for new addresses only: the admin still logs in from the address she used before', async () => {
    // Three more addresses of five guesses each: with the five of 127.0.0.2, twenty failures for the name.
    for (let host = 3; host < 6; host++) {
      for (let i = 0; i < 5; i++) expect((await login(`spread guess ${host}.${i}`, `127.0.0.${host}`)).status).toBe(401);
    }
    // A new address is refused before any password check, even with the right password: the guesser is bounded.
    const stranger = await login(PASSWORDS.admin, '127.0.0.50');
    expect(stranger.status).toBe(429);
    expect(stranger.body.error.code).toBe('CONSOLE_LOGIN_THROTTLED');
    // 127.0.0.1 is where the admin logged in (previous test): it keeps its access.
    expect((await login(PASSWORDS.admin, '127.0.0.1')).status).toBe(200);
  });

  it('every refusal and failure is audited by the rule that decided it, never by a row per refused attempt', async () => {
    const admin = await login(PASSWORDS.admin, '127.0.0.1');
    const cookie = String((admin.headers['set-cookie'] as string[])[0]).split(';')[0]!;
    const audit = await httpsJson(`${c.adminUrl}/api/audit?limit=1000`, { ca: c.ca, headers: { cookie } });
    const logins = (audit.body.entries as Array<{ target: string; outcome: string; details: Record<string, any> }>).filter(
      (e) => e.target === 'admin' && e.details.code,
    );
    // 5 + 15 failures checked, each with its row; the refusals have none of their own.
    expect(logins.filter((e) => e.details.code === 'CONSOLE_LOGIN_FAILED')).toHaveLength(20);
    expect(logins.filter((e) => e.details.code === 'CONSOLE_LOGIN_THROTTLED')).toEqual([]);
    expect(logins).toContainEqual(
      expect.objectContaining({ details: expect.objectContaining({ address: '127.0.0.2', lockouts: [{ rule: 'pair', seconds: 60 }] }) }),
    );
    expect(logins).toContainEqual(
      expect.objectContaining({
        details: expect.objectContaining({ lockouts: expect.arrayContaining([{ rule: 'account', seconds: 60 }]) }),
      }),
    );
  });
});
