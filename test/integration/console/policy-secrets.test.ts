import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsJson, loginAs } from './console-process.ts';
import { PASSWORDS, SECRET_POLICY, startConsoleWithRoles, type ConsoleWithRoles } from './console-fixture.ts';

// Secrets in a group policy are write-only on the web console (test/security/console/policy-secrets-are-write-only
// shows no role reads them). Here: the round trip an admin makes, and what the workstations receive. The real console
// process; a workstation enrolled over mutual TLS reads what agents get.
const { CAPE_TOKEN, PASSPHRASE, CAPE, CUCKOO } = SECRET_POLICY;
const policy = SECRET_POLICY.document;

describe('write-only policy secrets: saving, replacing, clearing, and what agents receive', () => {
  let c: ConsoleWithRoles;
  let admin: Awaited<ReturnType<typeof loginAs>>;
  let agent: { agentId: string; cert: string; key: string };
  let groupId: number;
  let revision = 0;
  /** What the workstation receives: the policy of its group when its revision moved. */
  const agentPolicy = async () => {
    const r = await httpsJson(`${c.agentUrl}/agent/v1/poll?policyRevision=${revision}&waitMs=0`, {
      ca: c.ca,
      cert: agent.cert,
      key: agent.key,
    });
    expect(r.status).toBe(200);
    if (r.body.policy) revision = r.body.policy.revision;
    return r.body.policy?.policy;
  };
  const shownPolicy = async () => (await admin('GET', 'groups')).body.groups.find((g: { id: number }) => g.id === groupId).policy;

  beforeAll(async () => {
    c = await startConsoleWithRoles();
    admin = await loginAs(c.adminUrl, c.ca, 'admin', PASSWORDS.admin);
    groupId = (await admin('POST', 'groups', { name: 'office' })).body.id;
    agent = await c.enrollAgent('office');
    expect((await admin('PUT', `groups/${groupId}/policy`, { policy })).status).toBe(200);
  }, 180_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('the workstations still receive the real values over mutual TLS', async () => {
    const got = await agentPolicy();
    expect(got.sandbox.servers.map((s: { token: string }) => s.token)).toEqual([CAPE_TOKEN, SECRET_POLICY.CUCKOO_TOKEN]);
    expect(got.sandbox.clientCertificate.passphrase).toBe(PASSPHRASE);
  });

  it('an admin who saves the policy as shown, with other changes and the servers reordered, keeps every secret with its server', async () => {
    const shown = await shownPolicy();
    const edited = { ...shown, sandbox: { ...shown.sandbox, servers: [...shown.sandbox.servers].reverse(), connectTimeoutMs: 900 } };
    expect((await admin('PUT', `groups/${groupId}/policy`, { policy: edited })).status).toBe(200);
    const got = await agentPolicy();
    expect(got.sandbox.connectTimeoutMs).toBe(900);
    expect(got.sandbox.servers).toEqual([
      { url: CUCKOO, kind: 'cuckoo', token: SECRET_POLICY.CUCKOO_TOKEN },
      { url: CAPE, kind: 'cape', token: CAPE_TOKEN },
    ]);
    expect(got.sandbox.clientCertificate.passphrase).toBe(PASSPHRASE);
  });

  it('a new value replaces a secret and a removed key clears it; neither is shown afterwards', async () => {
    const shown = await shownPolicy();
    const servers = shown.sandbox.servers.map((s: { url: string }) => (s.url === CUCKOO ? { ...s, token: 'cuckoo-token-rotated' } : s));
    const { passphrase: _dropped, ...clientCertificate } = shown.sandbox.clientCertificate;
    expect(
      (await admin('PUT', `groups/${groupId}/policy`, { policy: { ...shown, sandbox: { ...shown.sandbox, servers, clientCertificate } } }))
        .status,
    ).toBe(200);
    const got = await agentPolicy();
    expect(got.sandbox.servers.map((s: { token: string }) => s.token)).toEqual(['cuckoo-token-rotated', CAPE_TOKEN]);
    expect(got.sandbox.clientCertificate).toEqual({ pfx: '/etc/sandgate/client.p12' });
    expect(JSON.stringify(await shownPolicy())).not.toContain('cuckoo-token-rotated');
  });

  it('"keep" for a server that has no token stored is refused, not saved as an empty token', async () => {
    const shown = await shownPolicy();
    const servers = [...shown.sandbox.servers, { url: 'https://new.corp.example', kind: 'cape', token: { set: true } }];
    const r = await admin('PUT', `groups/${groupId}/policy`, { policy: { ...shown, sandbox: { ...shown.sandbox, servers } } });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'POLICY_INVALID', params: { issues: [{ key: 'sandbox.servers.2.token' }] } });
    expect(await agentPolicy()).toBeUndefined();
  });
});
