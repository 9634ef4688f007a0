import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsJson, loginAs } from '../../integration/console/console-process.ts';
import {
  PASSWORDS,
  SECRET_POLICY,
  startConsoleWithRoles,
  type ConsoleWithRoles,
  type RoleName,
} from '../../integration/console/console-fixture.ts';

// Issue 14: "every console role, viewer included, reads the CAPE/Cuckoo tokens and the client-certificate passphrase
// in GET /api/groups". The real console process. (That agents still get the real values, and that a policy saved as
// shown keeps them, is test/integration/console/policy-secrets.test.ts.)
const { CAPE_TOKEN, CUCKOO_TOKEN, PASSPHRASE, CAPE, CUCKOO } = SECRET_POLICY;
const SECRETS = [CAPE_TOKEN, CUCKOO_TOKEN, PASSPHRASE];
const policy = SECRET_POLICY.document;

describe('group policy secrets on the web console', () => {
  let c: ConsoleWithRoles;
  let admin: Awaited<ReturnType<typeof loginAs>>;
  let groupId: number;

  beforeAll(async () => {
    c = await startConsoleWithRoles();
    admin = await loginAs(c.adminUrl, c.ca, 'admin', PASSWORDS.admin);
    groupId = (await admin('POST', 'groups', { name: 'office' })).body.id;
    expect((await admin('PUT', `groups/${groupId}/policy`, { policy })).status).toBe(200);
  }, 180_000);
  afterAll(async () => {
    await c?.stop();
  });

  it.each(['viewer', 'ioc-operator', 'policy-admin', 'admin'] as RoleName[])(
    '%s sees that each secret is set, never its value, in anything the console answers',
    async (role) => {
      const as = await loginAs(c.adminUrl, c.ca, role, PASSWORDS[role]);
      const groups = await as('GET', 'groups');
      expect(groups.status).toBe(200);
      const shown = groups.body.groups.find((g: { id: number }) => g.id === groupId).policy;
      expect(shown.sandbox.servers).toEqual([
        { url: CAPE, kind: 'cape', token: { set: true } },
        { url: CUCKOO, kind: 'cuckoo', token: { set: true } },
      ]);
      expect(shown.sandbox.clientCertificate).toEqual({ pfx: '/etc/sandgate/client.p12', passphrase: { set: true } });
      const everything = await Promise.all(
        ['groups', 'agents', 'events', 'audit?limit=1000', 'session', 'tasks', 'restores', `groups/${groupId}/history`].map((p) =>
          as('GET', p),
        ),
      );
      // The policy's history holds the revision with the secrets in it: shown, its secrets hidden as in the current one.
      const history = everything.at(-1)!.body.history;
      expect(history).toHaveLength(1);
      expect(history[0].policy.sandbox.servers[0].token).toEqual({ set: true });
      const page = await httpsJson(`${c.adminUrl}/`, { ca: c.ca });
      const script = await httpsJson(`${c.adminUrl}/console.js`, { ca: c.ca });
      for (const text of [...everything.map((r) => JSON.stringify(r.body)), String(page.body), String(script.body)]) {
        for (const secret of SECRETS) expect(text).not.toContain(secret);
      }
    },
  );

  it('a policy is rolled back only with manage-policy: viewers and operators are refused and audited, the policy stays', async () => {
    const revision = (await admin('GET', `groups/${groupId}/history`)).body.history[0].revision;
    for (const role of ['viewer', 'ioc-operator'] as RoleName[]) {
      const as = await loginAs(c.adminUrl, c.ca, role, PASSWORDS[role]);
      const r = await as('POST', `groups/${groupId}/rollback`, { revision: Number(revision) });
      expect(r.status, role).toBe(403);
      expect(r.body.error.code).toBe('CONSOLE_FORBIDDEN');
    }
    expect((await admin('GET', `groups/${groupId}/history`)).body.history).toHaveLength(1);
    const audit = (await admin('GET', 'audit?limit=50')).body.entries.filter(
      (e: { action: string }) => e.action === 'group.rollback-policy',
    );
    expect(audit.map((e: { outcome: string }) => e.outcome)).toEqual(['refused', 'refused']);
  });
});
