import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsJson, loginAs } from '../../integration/console/console-process.ts';
import { PASSWORDS, SECRET_POLICY, startConsoleWithRoles, type ConsoleWithRoles } from '../../integration/console/console-fixture.ts';

// The policy editor checks a document as it is typed (`POST /api/policy/validate`) and explains every key
// (`GET /api/policy-schema`). A viewer may use both: neither may become a way to save a policy, to learn a stored
// secret, or to change anything. The real console process.
const policy = SECRET_POLICY.document;
const SECRETS = [SECRET_POLICY.CAPE_TOKEN, SECRET_POLICY.CUCKOO_TOKEN, SECRET_POLICY.PASSPHRASE];
const shown = {
  sandbox: {
    ...policy.sandbox,
    servers: policy.sandbox.servers.map((s) => ({ ...s, token: { set: true } })),
    clientCertificate: { pfx: '/etc/sandgate/client.p12', passphrase: { set: true } },
  },
};

describe('policy validation and the key help on the web console', () => {
  let c: ConsoleWithRoles;
  let admin: Awaited<ReturnType<typeof loginAs>>;
  let viewer: Awaited<ReturnType<typeof loginAs>>;
  let groupId: number;
  let emptyGroupId: number;

  beforeAll(async () => {
    c = await startConsoleWithRoles();
    admin = await loginAs(c.adminUrl, c.ca, 'admin', PASSWORDS.admin);
    viewer = await loginAs(c.adminUrl, c.ca, 'viewer', PASSWORDS.viewer);
    groupId = (await admin('POST', 'groups', { name: 'office' })).body.id;
    emptyGroupId = (await admin('POST', 'groups', { name: 'lab' })).body.id;
    expect((await admin('PUT', `groups/${groupId}/policy`, { policy })).status).toBe(200);
  }, 180_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('a viewer reads every key with its description and default', async () => {
    const r = await viewer('GET', 'policy-schema');
    expect(r.status).toBe(200);
    const timeout = r.body.keys.find((k: { path: string }) => k.path === 'sandbox.connectTimeoutMs');
    expect(timeout).toMatchObject({ default: 500 });
    expect(timeout.description).toContain('next server');
  });

  it('a viewer has a document checked, key by key, with the rules a save applies, and nothing is saved', async () => {
    const before = (await admin('GET', `groups/${groupId}/history`)).body.history.length;
    const bad = { ...shown, sandbox: { ...shown.sandbox, connectTimeoutMs: 5 }, quarantine: { maxAgeDays: 'soon' } };
    const r = await viewer('POST', 'policy/validate', { groupId, policy: bad });
    expect(r.status).toBe(200);
    expect(r.body.valid).toBe(false);
    expect(r.body.issues.map((i: { key: string }) => i.key).sort()).toEqual(['quarantine.maxAgeDays', 'sandbox.connectTimeoutMs']);
    // The markers shown for stored secrets are valid where a secret is stored, as a save would find.
    expect((await viewer('POST', 'policy/validate', { groupId, policy: shown })).body).toEqual({ valid: true, issues: [] });
    // Where nothing is stored behind a marker, that is what is said of the key.
    const none = await viewer('POST', 'policy/validate', { groupId: emptyGroupId, policy: shown });
    expect(none.body.issues.map((i: { key: string }) => i.key)).toEqual([
      'sandbox.servers.0.token',
      'sandbox.servers.1.token',
      'sandbox.clientCertificate.passphrase',
    ]);
    for (const answer of [r, none]) for (const secret of SECRETS) expect(JSON.stringify(answer.body)).not.toContain(secret);
    expect((await admin('GET', `groups/${groupId}/history`)).body.history).toHaveLength(before);
    expect((await admin('GET', `groups/${emptyGroupId}/history`)).body.history).toHaveLength(0);
  });

  it('a viewer cannot save the document it had checked: refused and audited, the policy stays', async () => {
    const valid = { ...shown, sandbox: { ...shown.sandbox, connectTimeoutMs: 900 } };
    expect((await viewer('POST', 'policy/validate', { groupId, policy: valid })).body.valid).toBe(true);
    const r = await viewer('PUT', `groups/${groupId}/policy`, { policy: valid });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('CONSOLE_FORBIDDEN');
    const group = (await admin('GET', 'groups')).body.groups.find((g: { id: number }) => g.id === groupId);
    expect(group.policy.sandbox.connectTimeoutMs).toBeUndefined();
    const audit = (await admin('GET', 'audit?limit=100')).body.entries;
    expect(audit.filter((e: { action: string }) => e.action === 'group.set-policy').map((e: { outcome: string }) => e.outcome)).toEqual([
      'refused',
      'ok',
    ]);
  });

  it('checking needs a session and its CSRF token, like every POST', async () => {
    const anonymous = await httpsJson(`${c.adminUrl}/api/policy/validate`, { method: 'POST', ca: c.ca, body: { groupId, policy: shown } });
    expect(anonymous.status).toBe(401);
    expect((await viewer('POST', 'policy/validate', { groupId: 999_999, policy: null })).status).toBe(404);
  });
});
