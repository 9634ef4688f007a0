import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { doctorReportSchema, type DoctorCheck } from '@sandgate/shared';
import { makeCa, makeLeaf } from '#test-helpers/pki.ts';
import { startStack, type Stack } from '#test-helpers/stack.ts';

let stack: Stack;
let userHome: string;
let goodPolicy: string;
beforeAll(async () => {
  stack = await startStack();
  userHome = join(stack.root, 'user');
  mkdirSync(userHome);
  goodPolicy = readFileSync(stack.policyPath, 'utf8');
});
afterAll(async () => {
  await stack?.close();
});

// HOME and --home point into the temp folder: nothing is read from or written to the real user's browser folders.
const sandgate = (args: string[]) => stack.sandgate([...args, '--home', userHome]);
const doctor = async () => {
  const r = await stack.sandgate(['doctor', '--scope', 'user', '--home', userHome, '--json']);
  const report = doctorReportSchema.parse(JSON.parse(r.stdout));
  return { code: r.code, report, stderr: r.stderr, failed: report.checks.filter((c) => c.status === 'fail') };
};
const only = (failed: DoctorCheck[]) => failed.map((c) => `${c.check}: ${c.code}`);

/** Damages something, checks doctor names exactly that with a fix, then repairs it. */
async function damaged(damage: () => void, repair: () => void): Promise<DoctorCheck[]> {
  damage();
  try {
    const d = await doctor();
    expect(d.code).toBe(2);
    expect(d.report.ok).toBe(false);
    for (const f of d.failed) expect(f.fix, f.check).toMatch(/\S/);
    return d.failed;
  } finally {
    repair();
  }
}

describe('sandgate doctor', () => {
  it('is green after install for every browser into a home, with the agent and lab running', async () => {
    const r = await sandgate(['install', '--browser', 'all']);
    expect(r.code, r.stderr).toBe(0);
    const d = await doctor();
    expect(only(d.failed)).toEqual([]);
    expect(d.code).toBe(0);
    const ok = d.report.checks.filter((c) => c.status === 'ok').map((c) => c.check);
    expect(ok).toEqual(
      expect.arrayContaining([
        'manifest chrome user',
        'manifest chromium user',
        'manifest edge user',
        'manifest brave user',
        'manifest firefox user',
        'launcher',
        'agent',
        'policy',
        'certificate',
        `server ${stack.lab.url}`,
      ]),
    );
    // No unit installed in the test home: a warning with the way to add one, not a failure.
    expect(d.report.checks.find((c) => c.check === 'service')).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('systemctl --user'),
    });
  });

  it('names a deleted manifest', async () => {
    const file = join(userHome, '.config/microsoft-edge/NativeMessagingHosts/org.sandgate.agent.json');
    const text = readFileSync(file, 'utf8');
    const failed = await damaged(
      () => rmSync(file),
      () => writeFileSync(file, text),
    );
    expect(only(failed)).toEqual(['manifest edge user: HOST_NOT_INSTALLED']);
    expect(failed[0]!.fix).toContain('sandgate install --browser edge');
  });

  it('names a manifest that is not JSON, and one that does not allow our extension', async () => {
    const file = join(userHome, '.mozilla/native-messaging-hosts/org.sandgate.agent.json');
    const text = readFileSync(file, 'utf8');
    expect(
      only(
        await damaged(
          () => writeFileSync(file, '{'),
          () => writeFileSync(file, text),
        ),
      ),
    ).toEqual(['manifest firefox user: HOST_NOT_INSTALLED']);
    const other = text.replace('agent@sandgate.org', 'someone@else.example');
    const failed = await damaged(
      () => writeFileSync(file, other),
      () => writeFileSync(file, text),
    );
    expect(only(failed)).toEqual(['manifest firefox user: ORIGIN_FORBIDDEN']);
    expect(failed[0]!.detail).toContain('allowed_extensions');
  });

  it('names a launcher that is not executable, and one edited to run `node` from PATH', async () => {
    const launcher = join(stack.home, 'bin/sandgate-native-host');
    const text = readFileSync(launcher, 'utf8');
    const notExec = await damaged(
      () => chmodSync(launcher, 0o644),
      () => chmodSync(launcher, 0o755),
    );
    expect(new Set(notExec.map((c) => c.code))).toEqual(new Set(['HOST_NOT_INSTALLED']));
    expect(notExec.map((c) => c.detail).join('\n')).toContain(launcher);
    const viaPath = text.replace(/^exec '[^']+'/m, 'exec node');
    const failed = await damaged(
      () => writeFileSync(launcher, viaPath),
      () => writeFileSync(launcher, text),
    );
    expect(only(failed)).toEqual(['launcher: HOST_NOT_INSTALLED']);
    expect(failed[0]!.detail).toContain('absolute path');
  });

  it('names an invalid policy by its key', async () => {
    const bad = JSON.parse(goodPolicy);
    bad.sandbox.connectTimeoutMs = 'fast';
    const failed = await damaged(
      () => writeFileSync(stack.policyPath, JSON.stringify(bad)),
      () => writeFileSync(stack.policyPath, goodPolicy),
    );
    expect(only(failed)).toEqual(['policy: POLICY_INVALID']);
    expect(failed[0]!.detail).toContain('sandbox.connectTimeoutMs');
  });

  it('names an expired pinned certificate, and a server that presents another certificate', async () => {
    const ca = makeCa('Doctor Test CA');
    const expired = makeLeaf(ca, { notBefore: new Date(Date.now() - 3 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
    const pemFile = join(stack.root, 'expired.pem');
    writeFileSync(pemFile, expired.cert);
    const withCert = (cert: string) => {
      const p = JSON.parse(goodPolicy);
      p.sandbox.serverCertificate = cert;
      return JSON.stringify(p);
    };
    const failed = await damaged(
      () => writeFileSync(stack.policyPath, withCert(pemFile)),
      () => writeFileSync(stack.policyPath, goodPolicy),
    );
    // The lab presents its own certificate, not this one: the probe says so too.
    expect(only(failed)).toEqual(['certificate: TLS_CERTIFICATE_EXPIRED', `server ${stack.lab.url}: TLS_CERTIFICATE_REJECTED`]);
    expect(failed[1]!.fix).toContain('sandbox.serverCertificate');
  });

  it('names a server that does not answer', async () => {
    const p = JSON.parse(goodPolicy);
    p.sandbox.servers.push({ url: 'https://127.0.0.1:9' });
    const failed = await damaged(
      () => writeFileSync(stack.policyPath, JSON.stringify(p)),
      () => writeFileSync(stack.policyPath, goodPolicy),
    );
    expect(failed.map((c) => c.check)).toEqual(['server https://127.0.0.1:9']);
    expect(failed[0]!.fix).toMatch(/address|firewall/);
  });

  it('says the agent is not running as a warning (it starts on demand), and prints each fix in text mode', async () => {
    await stack.stopAgent();
    const d = await doctor();
    expect(d.report.checks.find((c) => c.check === 'agent')).toMatchObject({ status: 'warn', code: 'AGENT_UNAVAILABLE' });
    const text = await stack.sandgate(['doctor', '--scope', 'user', '--home', userHome]);
    expect(text.stdout).toMatch(/^WARN\s+agent\s+not running/m);
    expect(text.stdout).toMatch(/^\s+fix: /m);
  });
});
