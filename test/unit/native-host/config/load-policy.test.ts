import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findPolicyFile, loadPolicyFile } from '#native-host/config/load-policy.ts';
import { makeCa, makeLeaf, toPfx } from '#test-helpers/pki.ts';

let dir: string;
let ca: ReturnType<typeof makeCa>;
beforeAll(() => {
  ca = makeCa();
});
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-policy-')));
  return () => rmSync(dir, { recursive: true, force: true });
});

function policyFile(sandbox: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const p = join(dir, 'policy.json');
  writeFileSync(
    p,
    JSON.stringify({ sandbox: { servers: [{ url: 'https://127.0.0.1:8443' }], serverCertificate: ca.cert, ...sandbox }, ...extra }),
  );
  return p;
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; params?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as { code: string; message: string; params?: Record<string, unknown> };
  }
  throw new Error('expected a failure');
}

describe('finding the policy file', () => {
  it('prefers --policy, then $SANDGATE_POLICY, then $SANDGATE_HOME/policy.json, then the system file', () => {
    const [a, b, home, sys] = ['a.json', 'b.json', 'policy.json', 'system.json'].map((n) => join(dir, n));
    for (const f of [a, b, home, sys]) writeFileSync(f!, '{}');
    const env = { SANDGATE_POLICY: b };
    expect(findPolicyFile({ explicit: a, home: dir, env, systemPath: sys })).toBe(a);
    expect(findPolicyFile({ home: dir, env, systemPath: sys })).toBe(b);
    expect(findPolicyFile({ home: dir, env: {}, systemPath: sys })).toBe(home);
    rmSync(home!);
    expect(findPolicyFile({ home: dir, env: {}, systemPath: sys })).toBe(sys);
  });

  it('says where it looked when there is no policy', () => {
    const sys = join(dir, 'nothing-here.json');
    expect(() => findPolicyFile({ home: dir, env: {}, systemPath: sys })).toThrow(expect.objectContaining({ code: 'POLICY_NOT_FOUND' }));
    try {
      findPolicyFile({ home: dir, env: {}, systemPath: sys });
    } catch (err) {
      expect((err as Error).message).toContain(join(dir, 'policy.json'));
      expect((err as Error).message).toContain(sys);
    }
  });

  it('does not fall back to another policy when the named one is missing', () => {
    writeFileSync(join(dir, 'policy.json'), '{}');
    expect(() => findPolicyFile({ explicit: join(dir, 'typo.json'), home: dir, env: {} })).toThrow(/--policy.*typo\.json/);
  });
});

describe('loading the policy file', () => {
  it('fills defaults, freezes the result and takes the pinned certificate as PEM text', async () => {
    const loaded = await loadPolicyFile(policyFile({}));
    expect(loaded.policy.sandbox.connectTimeoutMs).toBe(500);
    expect(loaded.serverCa).toContain('BEGIN CERTIFICATE');
    expect(Object.isFrozen(loaded.policy.sandbox.servers[0])).toBe(true);
  });

  it('reads serverCertificate as a path relative to the policy file', async () => {
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    const loaded = await loadPolicyFile(policyFile({ serverCertificate: 'ca.pem' }));
    expect(loaded.serverCa.trim()).toBe(ca.cert.trim());
  });

  it('names the offending key and the reason for a schema error', async () => {
    const err = await failure(loadPolicyFile(policyFile({ servers: [{ url: 'http://sandbox1.corp.example' }] })));
    expect(err.code).toBe('POLICY_INVALID');
    expect(err.message).toContain('sandbox.servers.0.url');
    expect(err.params?.issues).toEqual([expect.objectContaining({ key: 'sandbox.servers.0.url' })]);
  });

  it('reports broken JSON as POLICY_INVALID', async () => {
    const p = join(dir, 'policy.json');
    writeFileSync(p, '{"sandbox": ');
    const err = await failure(loadPolicyFile(p));
    expect(err.code).toBe('POLICY_INVALID');
    expect(err.message).toMatch(/not valid JSON/);
  });

  it('reports an unreadable or non-PEM server certificate as CERTIFICATE_INVALID', async () => {
    expect((await failure(loadPolicyFile(policyFile({ serverCertificate: 'missing.pem' })))).code).toBe('CERTIFICATE_INVALID');
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate');
    expect((await failure(loadPolicyFile(policyFile({ serverCertificate: 'junk.pem' })))).code).toBe('CERTIFICATE_INVALID');
  });

  it('opens a PKCS#12 client certificate with its passphrase and refuses a wrong one', async () => {
    const leaf = makeLeaf(ca, { client: true });
    writeFileSync(join(dir, 'agent.pfx'), toPfx(leaf, 'right'));
    const ok = await loadPolicyFile(policyFile({ clientCertificate: { pfx: 'agent.pfx', passphrase: 'right' } }));
    expect(ok.clientCert && 'pfx' in ok.clientCert && ok.clientCert.pfx.length).toBeGreaterThan(0);
    const err = await failure(loadPolicyFile(policyFile({ clientCertificate: { pfx: 'agent.pfx', passphrase: 'wrong' } })));
    expect(err.code).toBe('CERTIFICATE_INVALID');
    expect(err.message).not.toContain('wrong"');
  });

  it('loads a PEM client certificate and key', async () => {
    const leaf = makeLeaf(ca, { client: true });
    writeFileSync(join(dir, 'agent.crt'), leaf.cert);
    writeFileSync(join(dir, 'agent.key'), leaf.key);
    const ok = await loadPolicyFile(policyFile({ clientCertificate: { cert: 'agent.crt', key: 'agent.key' } }));
    expect(ok.clientCert).toMatchObject({ cert: leaf.cert, key: leaf.key });
  });
});

describe('the system-wide policy location per OS', () => {
  it('is /etc/sandgate on Linux, Application Support on macOS and %ProgramData%\\Sandgate on Windows', async () => {
    const { systemPolicyPath } = await import('#native-host/config/load-policy.ts');
    expect(systemPolicyPath('linux', {})).toBe('/etc/sandgate/policy.json');
    expect(systemPolicyPath('darwin', {})).toBe('/Library/Application Support/Sandgate/policy.json');
    expect(systemPolicyPath('win32', { ProgramData: 'D:\\ProgramData' })).toBe('D:\\ProgramData\\Sandgate\\policy.json');
    expect(systemPolicyPath('win32', {})).toBe('C:\\ProgramData\\Sandgate\\policy.json');
  });
});
