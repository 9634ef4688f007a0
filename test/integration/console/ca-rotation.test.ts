import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollFor } from '#test-helpers/stack.ts';
import { consoleFiles, keyMatchesCertificate } from '#native-host/console/console-files.ts';
import {
  ADMIN_PASSWORD,
  EICAR,
  enrollWorkstation,
  httpsJson,
  loginAs,
  runConsoleCli,
  startConsoleProcess,
  type ConsoleProcess,
  type Workstation,
} from './console-process.ts';

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
const pemsIn = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

// A real `sandgate-console serve` (PGlite) and real `sandgate serve` agents: the administrator rotates the console CA
// with the command line, the agents move on their next poll without anyone touching them, the old CA is retired, and
// the agents carry on (a threat found afterwards reaches the console; every event line is stored once).
describe('console CA rotation without re-enrolling the fleet', () => {
  let dataDir: string;
  let env: Record<string, string | undefined>;
  let consoleProcess: ConsoleProcess;
  const workstations: Workstation[] = [];
  const cli = (args: string[], stdin?: string) => runConsoleCli([...args, '--data', dataDir], env, stdin);
  const json = async (args: string[]) => {
    const r = await cli([...args, '--json']);
    return { code: r.code, out: r.stdout ? JSON.parse(r.stdout.trim().split('\n').pop()!) : undefined, stderr: r.stderr };
  };
  const creds = (w: Workstation) => {
    const f = consoleFiles(w.home);
    return { cert: readFileSync(f.cert, 'utf8'), key: readFileSync(f.key, 'utf8'), ca: readFileSync(f.ca, 'utf8') };
  };
  const issuedBy = (certPem: string, caPem: string) => {
    const x = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return x.checkIssued(ca) && x.verify(ca.publicKey);
  };
  const workstation = async (start: boolean) => {
    const w = await enrollWorkstation({ cli, consoleProcess, start: false });
    workstations.push(w);
    // Polls held 1 s, so an offer made by the console reaches an agent within a second or two.
    w.env.SANDGATE_CONSOLE_POLL_WAIT_MS = '1000';
    if (start) await w.startAgent();
    return w;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-ca-'));
    env = { DATABASE_URL: undefined, SANDGATE_CONSOLE_DATA: undefined };
    consoleProcess = await startConsoleProcess(['--data', dataDir, '--port', '0', '--admin-port', '0'], env);
    expect((await cli(['user', 'add', 'admin', '--role', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n')).code).toBe(0);
  });

  afterAll(async () => {
    for (const w of workstations) await w.close();
    await consoleProcess?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('rotate, agents renew on their next poll, old CA retired; a renewed agent keeps working and nothing is lost', async () => {
    const a = await workstation(true);
    const b = await workstation(true);
    // Enrolled, then switched off for the whole rotation: it is still on the old CA when the old CA is retired.
    const away = await workstation(false);
    const oldCaPem = readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8');
    const oldCa = fingerprintOf(oldCaPem);
    const before = { a: creds(a), b: creds(b), away: creds(away) };
    await pollFor('both running agents report what they pin', async () => {
      const s = await json(['ca', 'status']);
      return s.out?.agents.onInService === 3 ? s.out : undefined;
    });

    // 1. Rotate: a new CA beside the old one; the agents renew from it on their next poll.
    const rotated = await json(['ca', 'rotate']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.out.inService).toBe(oldCa);
    const newCa: string = rotated.out.next;
    expect(newCa).not.toBe(oldCa);
    const newCaPem = readFileSync(join(dataDir, 'ca', 'new-ca-cert.pem'), 'utf8');

    for (const w of [a, b]) {
      const now = await pollFor(
        `${w.agentId} renewed from the new CA and pins both`,
        () => {
          const c = creds(w);
          // The whole pair: the agent writes the CAs, the certificate, then moves its key into place.
          return issuedBy(c.cert, newCaPem) && keyMatchesCertificate(c.key, c.cert) && pemsIn(c.ca).length === 2 ? c : undefined;
        },
        60_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\nagent: ${w.agentLog().slice(-2000)}\nconsole: ${consoleProcess.stderr().slice(-1500)}`);
      });
      expect(pemsIn(now.ca).map(fingerprintOf).sort()).toEqual([oldCa, newCa].sort());
      // A fresh key, made on the workstation: the private key never left it.
      expect(now.key).not.toBe((w === a ? before.a : before.b).key);
    }
    const moved = await pollFor('the console counts two workstations on the new CA', async () => {
      const s = await json(['ca', 'status']);
      return s.out?.agents.onNext === 2 ? s.out : undefined;
    });
    expect(moved).toMatchObject({ next: { sha256: newCa }, agents: { onInService: 1, onNext: 2, onRetired: 0 } });

    // The workstations view says which workstation is on which CA, and when its certificate ends.
    const admin = await loginAs(consoleProcess.info.adminUrl, oldCaPem, 'admin', ADMIN_PASSWORD);
    const during = await admin('GET', 'agents?limit=100');
    expect(during.status).toBe(200);
    const row = (id: string, page: typeof during) => page.body.agents.find((x: { id: string }) => x.id === id);
    expect(row(a.agentId, during)).toMatchObject({ cert_ca: 'new' });
    expect(row(away.agentId, during)).toMatchObject({ cert_ca: 'in-service' });
    // The certificate's own end, to the second (X.509 times have no milliseconds).
    const seconds = (t: string) => Math.floor(Date.parse(t) / 1000);
    expect(seconds(row(a.agentId, during).cert_not_after)).toBe(seconds(new X509Certificate(creds(a).cert).validTo));
    expect(during.body.ca).toMatchObject({ inService: { sha256: oldCa }, next: { sha256: newCa } });

    // 2. Retire: refused while a workstation is left on the old CA, then forced.
    const refused = await json(['ca', 'retire']);
    expect(refused.code).toBe(2);
    expect(refused.out.error.code).toBe('CONSOLE_CA_ROTATION_STATE');
    expect(readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8')).toBe(oldCaPem);
    const retired = await json(['ca', 'retire', '--force']);
    expect(retired.code, retired.stderr).toBe(0);
    expect(retired.out).toMatchObject({ retired: oldCa, inService: newCa, agentsLeft: 1 });
    expect(readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8')).toBe(newCaPem);

    // The moved agents drop the retired CA from what they pin (offered on the poll, over the channel they trust).
    for (const w of [a, b])
      await pollFor(`${w.agentId} pins the new CA alone`, () => {
        const c = creds(w);
        return pemsIn(c.ca).length === 1 && fingerprintOf(c.ca) === newCa ? true : undefined;
      });

    // 3. A renewed agent keeps working: a threat found now reaches the console.
    const file = join(a.downloads, 'eicar-after-rotation.com');
    writeFileSync(file, EICAR);
    const submitted = await a.sandgate(['submit', file, '--wait', '--json'], { timeoutMs: 60_000 });
    expect(submitted.code, submitted.stderr).toBe(1);
    const admin2 = await loginAs(consoleProcess.info.adminUrl, newCaPem, 'admin', ADMIN_PASSWORD);
    await pollFor('the verdict made after the retirement is at the console', async () => {
      const r = await admin2('GET', `agents/${a.agentId}/events?limit=1000`);
      return r.body.events?.some((e: { type: string; event: { level?: string } }) => e.type === 'verdict' && e.event.level === 'malicious')
        ? true
        : undefined;
    });
    // Nothing lost: every line of each moved agent's event log is stored once.
    for (const w of [a, b])
      await pollFor(`every event of ${w.agentId} stored once`, async () => {
        const r = await admin2('GET', `agents/${w.agentId}/events?limit=1000`);
        return r.body.events?.length === w.events().length ? true : undefined;
      });

    // 4. The workstation left behind shows as on a retired CA; its old certificate is refused; it enrolls again.
    const after = await admin2('GET', 'agents?limit=100');
    expect(row(away.agentId, after)).toMatchObject({ cert_ca: 'retired' });
    expect(row(a.agentId, after)).toMatchObject({ cert_ca: 'in-service' });
    expect(after.body.ca).toMatchObject({ next: null, agents: { onInService: 2, onRetired: 1 } });
    const oldPoll = await httpsJson(`${consoleProcess.info.agentUrl}/agent/v1/poll?waitMs=0`, {
      ca: newCaPem,
      cert: before.away.cert,
      key: before.away.key,
    });
    expect(oldPoll.status).toBe(401);
    expect(oldPoll.body.error.code).toBe('CONSOLE_CLIENT_CERT_REQUIRED');
    const token = await cli(['token', 'create', '--json']);
    const t = JSON.parse(token.stdout);
    expect(t.caFingerprint).toBe(newCa);
    const again = await away.sandgate(['enroll', consoleProcess.info.agentUrl, t.token, '--ca-fingerprint', newCa, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(issuedBy(creds(away).cert, newCaPem)).toBe(true);

    // Audited, under the administrator's name.
    const audit = await admin2('GET', 'audit?limit=200');
    const actions = audit.body.entries;
    expect(JSON.stringify(actions)).toMatch(/"ca\.rotate"/);
    expect(JSON.stringify(actions)).toMatch(/"ca\.retire"/);
  }, 240_000);
});
