import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCa } from '#test-helpers/pki.ts';
import { runSandgate } from './run-sandgate.ts';

let root: string;
let caPem: string;
const home = () => join(root, 'home');

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sandgate-cli-policy-')));
  caPem = makeCa().cert;
  writeFileSync(join(root, 'ca.pem'), caPem);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function policyFile(name: string, body: unknown): string {
  const p = join(root, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
}

const valid = () => ({
  sandbox: {
    servers: [{ url: 'https://127.0.0.1:8443' }, { url: 'https://cape.corp.example', kind: 'cape', token: 'sekrit-token' }],
    serverCertificate: 'ca.pem',
  },
});

describe('sandgate policy check', () => {
  it('says valid and exits 0 for a good policy', async () => {
    const file = policyFile('good.json', valid());
    const r = await runSandgate(['policy', 'check', file], { home: home() });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`valid: ${file}\n`);
  });

  it('names every offending key and exits 2', async () => {
    const file = policyFile('bad.json', {
      sandbox: { servers: [{ url: 'http://sandbox.corp.example:80' }], serverCertificate: 'ca.pem', connectTimeoutMs: 'fast' },
      response: { quarantine: 'yes' },
    });
    const r = await runSandgate(['policy', 'check', file], { home: home() });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error\[POLICY_INVALID\]: /);
    expect(r.stderr).toContain('sandbox.servers.0.url:');
    expect(r.stderr).toContain('sandbox.connectTimeoutMs:');
    expect(r.stderr).toContain('response.quarantine:');
  });

  it('names a bad extension ID in extension.additionalIds by its index', async () => {
    const file = policyFile('bad-ids.json', { ...valid(), extension: { additionalIds: ['b'.repeat(32), 'chrome-extension://*/'] } });
    const r = await runSandgate(['policy', 'check', file], { home: home() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^  extension\.additionalIds\.1: .*Chromium extension ID/m);
  });

  it('reports the issues as JSON with --json', async () => {
    const file = policyFile('bad2.json', { sandbox: { servers: [], serverCertificate: 'ca.pem' }, surprise: 1 });
    const r = await runSandgate(['policy', 'check', file, '--json'], { home: home() });
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ valid: false, error: { code: 'POLICY_INVALID', message: expect.any(String) } });
    const keys = out.issues.map((i: { key: string }) => i.key);
    expect(keys).toContain('sandbox.servers');
    expect(keys).toContain('');
  });

  it('refuses a policy whose pinned certificate cannot be read', async () => {
    const file = policyFile('nocert.json', { sandbox: { servers: [{ url: 'https://127.0.0.1:8443' }], serverCertificate: 'missing.pem' } });
    const r = await runSandgate(['policy', 'check', file], { home: home() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[CERTIFICATE_INVALID\]/);
    expect(r.stderr).toContain('sandbox.serverCertificate');
  });

  it('reports a file that is not JSON', async () => {
    const r = await runSandgate(['policy', 'check', policyFile('junk.json', '{nope')], { home: home() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not valid JSON');
  });

  it('reports a missing file with its code', async () => {
    const r = await runSandgate(['policy', 'check', join(root, 'absent.json'), '--json'], { home: home() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[POLICY_NOT_FOUND\]/);
    expect(JSON.parse(r.stdout).error.code).toBe('POLICY_NOT_FOUND');
  });
});

describe('sandgate policy show', () => {
  it('prints the effective policy with defaults and without secrets', async () => {
    const file = policyFile('show.json', valid());
    const r = await runSandgate(['policy', 'show', '--policy', file, '--json'], { home: home() });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.path).toBe(file);
    expect(out.policy.sandbox.connectTimeoutMs).toBe(500);
    expect(out.policy.sandbox.requestQueueMaxBytes).toBe(104857600);
    expect(out.policy.response.quarantine).toBe(true);
    expect(out.policy.sandbox.servers[1].token).toBe('[redacted]');
    expect(r.stdout).not.toContain('sekrit-token');
  });

  it('finds $SANDGATE_HOME/policy.json when no --policy is given', async () => {
    const h = join(root, 'home-with-policy');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(h);
    writeFileSync(
      join(h, 'policy.json'),
      JSON.stringify({ sandbox: { servers: [{ url: 'https://127.0.0.1:8443' }], serverCertificate: caPem } }),
    );
    const r = await runSandgate(['policy', 'show'], { home: h });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`# effective policy from ${join(h, 'policy.json')}`);
  });
});
