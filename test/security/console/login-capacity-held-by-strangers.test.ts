import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startConsole, type RunningConsole } from '#console/server/start-console.ts';
import { LoginThrottle, type LoginAdmission } from '#console/users/login-throttle.ts';
import { addUser } from '#console/users/users.ts';
import { httpsJson } from '../../integration/console/console-process.ts';

const ADA_PASSWORD = 'ada-password-for-tests';

// The console checks at most four passwords at once (scrypt: 32 MiB each). An attacker with many addresses keeps
// those slots busy with slow guesses so that everyone else is refused "too many logins at once". The console runs in
// this process so the test can hold the attacker's checks open by hand (their tickets) instead of racing real ones;
// the logins under test go through its real HTTPS listener.
describe('strangers keep every password check of the web console busy', () => {
  let dataDir: string;
  let c: RunningConsole;
  const throttle = new LoginThrottle();
  const held: LoginAdmission[] = [];
  const login = (name: string, password: string, from: string) =>
    httpsJson(`${c.adminUrl}/api/login`, { method: 'POST', ca: c.ca.certPem, body: { name, password }, localAddress: from });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-capacity-'));
    c = await startConsole({ dataDir, host: '127.0.0.1', port: 0, adminPort: 0, loginThrottle: throttle });
    await addUser(c.db, 'ada', 'admin', ADA_PASSWORD);
    await addUser(c.db, 'bob', 'viewer', 'bob-password-for-tests');
  }, 180_000);
  afterAll(async () => {
    for (const h of held) if (h.allowed) h.ticket.abandoned();
    await c?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('one address cannot hold more than one check: its second login waits, another address gets a slot', async () => {
    const first = throttle.admit('guess-1', '127.0.0.2');
    held.push(first);
    expect(first.allowed).toBe(true);
    const second = await login('bob', 'bob-password-for-tests', '127.0.0.2');
    expect(second.status).toBe(429);
    expect(second.body.error.message).toMatch(/too many logins at once/);
    expect((await login('bob', 'bob-password-for-tests', '127.0.0.3')).status).toBe(200);
  });

  it('while strangers from many addresses fill every slot, the admin still logs in from the address she logged in from before', async () => {
    expect((await login('ada', ADA_PASSWORD, '127.0.0.1')).status).toBe(200);
    for (let i = held.length; i < throttle.policy.maxConcurrentChecks; i++) {
      const h = throttle.admit(`guess-${i}`, `2001:db8:${i}::1`);
      expect(h.allowed).toBe(true);
      held.push(h);
    }
    // A stranger (a name never logged in from this address) is refused for want of capacity, before any hashing...
    const stranger = await login('bob', 'bob-password-for-tests', '127.0.0.9');
    expect(stranger.status).toBe(429);
    expect(stranger.headers['retry-after']).toBe('1');
    // ...and the admin, from where she works, is not.
    const ada = await login('ada', ADA_PASSWORD, '127.0.0.1');
    expect(ada.status).toBe(200);
    expect(ada.body.user.name).toBe('ada');
  });
});
