import { describe, expect, it } from 'vitest';
import { policySchema } from '@sandgate/shared';
import { hidePolicySecrets, keepPolicySecrets } from '#console/groups/policy-secrets.ts';

const stored = {
  sandbox: {
    servers: [
      { url: 'https://a.corp.example', kind: 'cape', token: 'token-a' },
      { url: 'https://b.corp.example', kind: 'cuckoo', token: 'token-b' },
      { url: 'https://c.corp.example' },
    ],
    serverCertificate: '/etc/sandgate/ca.pem',
    clientCertificate: { cert: '/etc/sandgate/client.pem', key: '/etc/sandgate/client.key', passphrase: 'pass' },
  },
};

describe('write-only secrets of a group policy', () => {
  it('hides every token and the passphrase, leaves everything else as stored, and does not touch the stored copy', () => {
    const shown = hidePolicySecrets(stored)!;
    expect(shown).toEqual({
      sandbox: {
        servers: [
          { url: 'https://a.corp.example', kind: 'cape', token: { set: true } },
          { url: 'https://b.corp.example', kind: 'cuckoo', token: { set: true } },
          { url: 'https://c.corp.example' },
        ],
        serverCertificate: '/etc/sandgate/ca.pem',
        clientCertificate: { cert: '/etc/sandgate/client.pem', key: '/etc/sandgate/client.key', passphrase: { set: true } },
      },
    });
    expect(stored.sandbox.servers[0]!.token).toBe('token-a');
    expect(hidePolicySecrets(null)).toBeNull();
  });

  it('what is shown, saved back as it is, is the stored policy again, and valid for the agents', () => {
    const back = keepPolicySecrets(hidePolicySecrets(stored)!, stored);
    expect(back).toEqual(stored);
    expect(policySchema.safeParse(back).success).toBe(true);
  });

  it('two servers with one URL keep their own tokens by place', () => {
    const twice = {
      sandbox: {
        ...stored.sandbox,
        servers: [
          { url: 'https://a.corp.example', token: 't1' },
          { url: 'https://a.corp.example', token: 't2' },
        ],
      },
    };
    const back = keepPolicySecrets(hidePolicySecrets(twice)!, twice) as typeof twice;
    expect(back.sandbox.servers.map((s) => s.token)).toEqual(['t1', 't2']);
  });

  it('a marker where nothing is stored is refused with the key, never saved as a value; the marker elsewhere is left for the schema to refuse', () => {
    const incoming = {
      sandbox: {
        ...(hidePolicySecrets(stored)!['sandbox'] as object),
        servers: [{ url: 'https://c.corp.example', token: { set: true } }],
        clientCertificate: { pfx: '/x.p12', passphrase: { set: true } },
      },
    };
    expect(() => keepPolicySecrets(incoming, { sandbox: { servers: [{ url: 'https://c.corp.example' }] } })).toThrow(
      expect.objectContaining({
        code: 'POLICY_INVALID',
        params: {
          issues: [
            expect.objectContaining({ key: 'sandbox.servers.0.token' }),
            expect.objectContaining({ key: 'sandbox.clientCertificate.passphrase' }),
          ],
        },
      }),
    );
    const misplaced = keepPolicySecrets({ sandbox: { ...stored.sandbox, serverCertificate: { set: true } } }, stored);
    expect(policySchema.safeParse(misplaced).success).toBe(false);
  });
});
