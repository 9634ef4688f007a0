import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { startConsole, type RunningConsole } from '#console/server/start-console.ts';
import { createEnrollmentToken } from '#console/agents/enrollment-tokens.ts';
import { revokeAgent } from '#console/agents/agents.ts';
import { readAudit } from '#console/audit/audit-log.ts';
import { normaliseSerial } from '#console/agent-api/peer-identity.ts';
import { consoleFiles, keyMatchesCertificate, readCredentials } from '#native-host/console/console-files.ts';
import { renewCertificate } from '#native-host/console/cert-renewal.ts';
import { csrFor, newAgentKey } from '#native-host/console/agent-csr.ts';
import { pollFor, startStack, type Stack } from '#test-helpers/stack.ts';
import { httpsJson } from './console-process.ts';

const DAY = 86_400_000;

// The console runs in this process (PGlite), so the test can reach its CA and database to give a workstation a
// certificate near its end; the workstations are real `sandgate enroll` / `sandgate serve` processes.
describe('agent certificate renewal', () => {
  let dataDir: string;
  let c: RunningConsole;
  const stacks: Stack[] = [];

  const serialAtConsole = async (agentId: string) =>
    (await c.db.query<{ cert_serial: string }>('SELECT cert_serial FROM agents WHERE id = $1', [agentId]))[0]!.cert_serial;
  const serialOf = (pem: string) => normaliseSerial(new X509Certificate(pem).serialNumber);
  const credsOf = (s: Stack) => {
    const f = consoleFiles(s.home);
    return { cert: readFileSync(f.cert, 'utf8'), key: readFileSync(f.key, 'utf8') };
  };
  const renewCall = (creds: { cert: string; key: string }, keyForCsr: string) =>
    httpsJson(`${c.agentUrl}/agent/v1/renew`, { method: 'POST', ca: c.ca.certPem, ...creds, body: { csr: csrFor(keyForCsr, 'test') } });
  const pollWith = (creds: { cert: string; key: string }) =>
    httpsJson(`${c.agentUrl}/agent/v1/poll?waitMs=0`, { ca: c.ca.certPem, ...creds });
  const keySha256 = (keyPem: string) =>
    createHash('sha256')
      .update(createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' }))
      .digest('hex');
  /** Watches the console CA: a refused request must be refused before anything is signed. */
  const watchSigning = () => vi.spyOn(c.ca, 'signAgentCsr');

  /** An enrolled workstation, its agent not started yet. */
  const workstation = async (): Promise<Stack & { agentId: string }> => {
    const s = await startStack({ startAgent: false });
    stacks.push(s);
    s.env.SANDGATE_CONSOLE_HEARTBEAT_MS = '1000';
    s.env.SANDGATE_CONSOLE_RETRY_MAX_MS = '1000';
    const { token } = await createEnrollmentToken(c.db, { groupId: null, createdBy: 'test' });
    const r = await s.sandgate(['enroll', c.agentUrl, token, '--ca-fingerprint', c.ca.fingerprint, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return Object.assign(s, { agentId: JSON.parse(r.stdout).agentId as string });
  };

  /**
   * Test-only path to a certificate near its end: the console CA (read from its data folder) issues one for the
   * agent's own key that expires in `days`, and the console records it as the agent's, as enrollment would have.
   */
  const giveShortCertificate = async (s: Stack & { agentId: string }, days: number): Promise<string> => {
    const caCert = forge.pki.certificateFromPem(readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8'));
    const caKey = forge.pki.privateKeyFromPem(readFileSync(join(dataDir, 'ca', 'ca-key.pem'), 'utf8'));
    const agentKey = forge.pki.privateKeyFromPem(credsOf(s).key) as forge.pki.rsa.PrivateKey;
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.setRsaPublicKey(agentKey.n, agentKey.e);
    cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
    cert.validity.notBefore = new Date(Date.now() - 3600_000);
    cert.validity.notAfter = new Date(Date.now() + days * DAY);
    cert.setSubject([{ name: 'commonName', value: s.agentId }]);
    cert.setIssuer(caCert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ]);
    cert.sign(caKey, forge.md.sha256.create());
    const pem = forge.pki.certificateToPem(cert);
    await c.db.query('UPDATE agents SET cert_serial = $2, cert_not_after = $3 WHERE id = $1', [
      s.agentId,
      serialOf(pem),
      cert.validity.notAfter.toISOString(),
    ]);
    writeFileSync(consoleFiles(s.home).cert, pem, { mode: 0o600 });
    return pem;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-renew-'));
    c = await startConsole({ dataDir, host: '127.0.0.1', port: 0, adminPort: 0 });
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    for (const s of stacks) await s.close();
    await c?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('an agent whose certificate ends within 30 days renews it: new key and certificate on disk, the old one refused', async () => {
    const w = await workstation();
    const old = { cert: await giveShortCertificate(w, 10), key: credsOf(w).key };
    await w.startAgent();

    const renewed = await pollFor('the renewed certificate on disk and at the console', async () => {
      const now = credsOf(w);
      if (serialOf(now.cert) === serialOf(old.cert) || !keyMatchesCertificate(now.key, now.cert)) return undefined;
      return (await serialAtConsole(w.agentId)) === serialOf(now.cert) ? now : undefined;
    });
    const f = consoleFiles(w.home);
    expect(renewed.key).not.toBe(old.key);
    expect(statSync(f.key).mode & 0o777).toBe(0o600);
    expect(statSync(f.cert).mode & 0o777).toBe(0o600);
    expect(existsSync(f.pendingKey)).toBe(false);
    expect(new Date(new X509Certificate(renewed.cert).validTo).getTime()).toBeGreaterThan(Date.now() + 300 * DAY);

    const refused = await pollWith(old);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('CONSOLE_CLIENT_CERT_REQUIRED');
    expect((await pollWith(renewed)).status).toBe(200);

    // The running agent carries on with the new certificate: its heartbeats keep arriving.
    const seen = async () =>
      (await c.db.query<{ last_seen_at: string }>('SELECT last_seen_at FROM agents WHERE id = $1', [w.agentId]))[0]!.last_seen_at;
    const before = await seen();
    await pollFor('a heartbeat after the renewal', async () => ((await seen()) > before ? true : undefined));
    expect(w.agentLog()).toMatch(/console client certificate renewed/);
    expect(w.agentLog()).not.toMatch(/the console refused this agent/);
    const audit = await readAudit(c.db, 100);
    expect(audit).toContainEqual(
      expect.objectContaining({
        actor: `agent:${w.agentId}`,
        action: 'agent.renew',
        outcome: 'ok',
        details: expect.objectContaining({ serial: serialOf(renewed.cert), previousSerial: serialOf(old.cert) }),
      }),
    );
  });

  it('the console offers a renewal on the poll when it sees a certificate within 30 days of its end, and the agent renews', async () => {
    const w = await workstation();
    // Polls held a second; the agent's own look at its certificate ran at start and found nothing due (next in an hour).
    w.env.SANDGATE_CONSOLE_POLL_WAIT_MS = '1000';
    const old = credsOf(w);
    await w.startAgent();
    await pollFor('the agent reports the CAs it pins', async () =>
      (await c.db.query<{ trust_cas: string | null }>('SELECT trust_cas FROM agents WHERE id = $1', [w.agentId]))[0]?.trust_cas
        ? true
        : undefined,
    );
    // What the console knows of the certificate's end is what decides the offer.
    await c.db.query(`UPDATE agents SET cert_not_after = now() + interval '10 days' WHERE id = $1`, [w.agentId]);
    const renewed = await pollFor("the agent renewed at the console's word", async () => {
      const now = credsOf(w);
      return serialOf(now.cert) !== serialOf(old.cert) && (await serialAtConsole(w.agentId)) === serialOf(now.cert) ? now : undefined;
    });
    expect(renewed.key).not.toBe(old.key);
    expect(w.agentLog()).toMatch(/the console says the certificate ends soon/);
    const [row] = await c.db.query<{ cert_not_after: string }>('SELECT cert_not_after FROM agents WHERE id = $1', [w.agentId]);
    expect(Date.parse(row!.cert_not_after)).toBeGreaterThan(Date.now() + 300 * DAY);
  });

  it('a renewal whose answer was lost is asked again with the old certificate and the same key, and the agent gets back in', async () => {
    const w = await workstation();
    const old = credsOf(w);
    // What a lost answer leaves: the pending key on disk, the console already switched to a certificate for it.
    const pending = newAgentKey();
    writeFileSync(consoleFiles(w.home).pendingKey, pending, { mode: 0o600 });
    const lost = await renewCall(old, pending);
    expect(lost.status, JSON.stringify(lost.body)).toBe(200);
    expect((await pollWith(old)).status).toBe(401);

    // The old certificate with a request for any other key is refused, before the CA signs anything: only the holder
    // of the pending key gets in.
    const signing = watchSigning();
    const other = await renewCall(old, newAgentKey());
    expect(other.status).toBe(401);
    expect(other.body.error.code).toBe('CONSOLE_CLIENT_CERT_REQUIRED');
    expect(signing).not.toHaveBeenCalled();
    signing.mockRestore();

    await w.startAgent();
    const now = await pollFor('the agent renewed with its pending key', async () => {
      const cur = credsOf(w);
      return cur.key === pending && keyMatchesCertificate(cur.key, cur.cert) && (await serialAtConsole(w.agentId)) === serialOf(cur.cert)
        ? cur
        : undefined;
    });
    expect((await pollWith(now)).status).toBe(200);
    expect(w.agentLog()).toMatch(/a renewal was left unfinished/);
    expect(w.agentLog()).not.toMatch(/the console refused this agent/);
    const audit = await readAudit(c.db, 100);
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'agent.renew',
        outcome: 'ok',
        details: expect.objectContaining({ retry: true, serial: serialOf(now.cert) }),
      }),
    );
  });

  it('a renewal that fails keeps the pair in use, and the next attempt asks for the same pending key', async () => {
    const w = await workstation();
    const before = credsOf(w);
    const credentials = readCredentials(w.home)!;
    const tls = { ca: credentials.ca, cert: credentials.cert, key: credentials.key };
    // A console that is not there: a closed port on loopback.
    const away = { ...credentials, enrollment: { ...credentials.enrollment, url: 'https://127.0.0.1:1' } };
    await expect(renewCertificate({ home: w.home, credentials: away, tls, timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'CONSOLE_UNREACHABLE',
    });
    expect(credsOf(w)).toEqual(before);
    const pending = readFileSync(consoleFiles(w.home).pendingKey, 'utf8');

    const out = await renewCertificate({ home: w.home, credentials, tls });
    expect(out.credentials.key).toBe(pending);
    expect(credsOf(w)).toEqual({ cert: out.credentials.cert, key: pending });
    expect(readCredentials(w.home)).toMatchObject({ key: pending, cert: out.credentials.cert });
  });

  it('a crash between the new certificate and its key is completed at the next start', async () => {
    const w = await workstation();
    const credentials = readCredentials(w.home)!;
    const pending = newAgentKey();
    writeFileSync(consoleFiles(w.home).pendingKey, pending, { mode: 0o600 });
    const r = await renewCall(credsOf(w), pending);
    expect(r.status).toBe(200);
    // The certificate was written, then the agent died before moving the key into place.
    writeFileSync(consoleFiles(w.home).cert, r.body.certificate, { mode: 0o600 });
    const read = readCredentials(w.home)!;
    expect(read.key).toBe(pending);
    expect(read.cert).toBe(r.body.certificate);
    expect(read.key).not.toBe(credentials.key);
    expect(existsSync(consoleFiles(w.home).pendingKey)).toBe(false);
  });

  it('renewal needs a new key, and a revoked agent cannot renew (AGENT_REVOKED); neither gets anything signed', async () => {
    const w = await workstation();
    const creds = credsOf(w);
    const signing = watchSigning();
    const sameKey = await renewCall(creds, creds.key);
    expect(sameKey.status).toBe(400);
    expect(sameKey.body.error.code).toBe('MESSAGE_INVALID');

    await revokeAgent(c.db, w.agentId);
    const serial = await serialAtConsole(w.agentId);
    const refused = await renewCall(creds, newAgentKey());
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('AGENT_REVOKED');
    expect(await serialAtConsole(w.agentId)).toBe(serial);
    expect(signing).not.toHaveBeenCalled();
    const audit = await readAudit(c.db, 100);
    expect(audit).toContainEqual(
      expect.objectContaining({
        actor: `agent:${w.agentId}`,
        action: 'agent.renew',
        outcome: 'refused',
        details: expect.objectContaining({ code: 'AGENT_REVOKED' }),
      }),
    );
  });

  it("a lost answer is retried from the agent's own record, even with its audit rows gone; once revoked, the old certificate gets AGENT_REVOKED", async () => {
    const w = await workstation();
    const old = credsOf(w);
    const pending = newAgentKey();
    expect((await renewCall(old, pending)).status).toBe(200);
    // The console keeps what the retry is checked against with the agent, not in the audit log.
    const [row] = await c.db.query<{ previous_cert_serial: string; cert_key_sha256: string }>(
      'SELECT previous_cert_serial, cert_key_sha256 FROM agents WHERE id = $1',
      [w.agentId],
    );
    expect(row).toEqual({ previous_cert_serial: serialOf(old.cert), cert_key_sha256: keySha256(pending) });

    // An operator who archives the audit log does not strand an agent whose answer was lost.
    await c.db.query('DELETE FROM audit_log WHERE actor = $1', [`agent:${w.agentId}`]);
    const retried = await renewCall(old, pending);
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(await serialAtConsole(w.agentId)).toBe(serialOf(retried.body.certificate));

    // Revoked: the replaced certificate is told so plainly, like the current one, and nothing is signed.
    await revokeAgent(c.db, w.agentId);
    const signing = watchSigning();
    const refused = await renewCall(old, pending);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('AGENT_REVOKED');
    expect(signing).not.toHaveBeenCalled();
  });
});
