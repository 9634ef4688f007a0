import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Heartbeat } from '@sandgate/shared';
import { startConsole, type RunningConsole } from '#console/server/start-console.ts';
import { createEnrollmentToken } from '#console/agents/enrollment-tokens.ts';
import { sendControlOp } from '#console/control/control-socket.ts';
import { readAudit } from '#console/audit/audit-log.ts';
import { csrFor, newAgentKey } from '#native-host/console/agent-csr.ts';
import { httpsJson } from '../../integration/console/console-process.ts';

interface Creds {
  agentId: string;
  cert: string;
  key: string;
}

// Attacks on certificate renewal and CA rotation, each against the console's agents' port over real mutual TLS.
// The console runs in this process (PGlite) so the test can watch its CA sign; the "workstations" are made here with
// the agent's own key and CSR code.
describe('certificate renewal and CA rotation under attack', () => {
  let dataDir: string;
  let c: RunningConsole;
  /** What the console presents now: after a retirement, the new CA. */
  const consoleCa = () => readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8');

  const enroll = async (): Promise<Creds> => {
    const { token } = await createEnrollmentToken(c.db, { groupId: null, createdBy: 'test' });
    const key = newAgentKey();
    const host = { hostname: 'ws', platform: 'linux', release: '6', arch: 'x64' };
    const r = await httpsJson(`${c.agentUrl}/agent/v1/enroll`, {
      method: 'POST',
      ca: consoleCa(),
      body: { token, csr: csrFor(key, 'ws'), host, appVersion: '0.0.0-test' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return { agentId: r.body.agentId, cert: r.body.certificate, key };
  };
  const renew = (who: Creds, csr: string) =>
    httpsJson(`${c.agentUrl}/agent/v1/renew`, { method: 'POST', ca: consoleCa(), cert: who.cert, key: who.key, body: { csr } });
  const poll = (who: Creds) => httpsJson(`${c.agentUrl}/agent/v1/poll?waitMs=0`, { ca: consoleCa(), cert: who.cert, key: who.key });
  const heartbeat = (who: Creds) => {
    const body: Heartbeat = {
      agentId: who.agentId,
      appVersion: '0.0.0-test',
      host: { hostname: 'ws', platform: 'linux', release: '6', arch: 'x64' },
      startedAt: new Date().toISOString(),
      heartbeatMs: 30_000,
      queue: { objects: 0, bytes: 0, limitBytes: 1 },
      servers: [],
      policyRevision: 0,
      eventBacklog: 0,
    };
    return httpsJson(`${c.agentUrl}/agent/v1/heartbeat`, { method: 'POST', ca: consoleCa(), cert: who.cert, key: who.key, body });
  };
  const serialAtConsole = async (agentId: string) =>
    (await c.db.query<{ cert_serial: string }>('SELECT cert_serial FROM agents WHERE id = $1', [agentId]))[0]!.cert_serial;
  const commonName = (pem: string) =>
    new X509Certificate(pem).subject
      .split('\n')
      .find((l) => l.startsWith('CN='))
      ?.slice(3);
  const op = (name: string, args: Record<string, unknown> = {}) => sendControlOp(dataDir, name, 'cli:test', args);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandgate-console-ca-attack-'));
    c = await startConsole({ dataDir, host: '127.0.0.1', port: 0, adminPort: 0 });
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    await c?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a workstation cannot get a certificate for another agent's id: a CSR naming that agent is refused, nothing signed", async () => {
    const mallory = await enroll();
    const victim = await enroll();
    const serial = await serialAtConsole(mallory.agentId);
    const signing = vi.spyOn(c.ca, 'signAgentCsr');

    const r = await renew(mallory, csrFor(newAgentKey(), victim.agentId));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('CONSOLE_CSR_SUBJECT_MISMATCH');
    expect(signing).not.toHaveBeenCalled();
    expect(await serialAtConsole(mallory.agentId)).toBe(serial);
    expect(await readAudit(c.db, 50)).toContainEqual(
      expect.objectContaining({
        actor: `agent:${mallory.agentId}`,
        action: 'agent.renew',
        outcome: 'refused',
        details: expect.objectContaining({ code: 'CONSOLE_CSR_SUBJECT_MISMATCH' }),
      }),
    );
  });

  it('a CSR whose subject names an agent id that is not the caller is refused; one naming the caller is signed for the caller', async () => {
    const w = await enroll();
    const mismatched = await renew(w, csrFor(newAgentKey(), randomUUID()));
    expect(mismatched.status).toBe(400);
    expect(mismatched.body.error.code).toBe('CONSOLE_CSR_SUBJECT_MISMATCH');

    const ok = await renew(w, csrFor(newAgentKey(), w.agentId));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(commonName(ok.body.certificate)).toBe(w.agentId);
  });

  it('a renewal cannot be replayed: once the new certificate is in use, the old one cannot renew again, and nothing is signed', async () => {
    const w = await enroll();
    const next = newAgentKey();
    const csr = csrFor(next, w.agentId);
    const first = await renew(w, csr);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const renewed = { agentId: w.agentId, cert: first.body.certificate as string, key: next };
    expect((await heartbeat(renewed)).status).toBe(200);

    const signing = vi.spyOn(c.ca, 'signAgentCsr');
    const replay = await renew(w, csr);
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('CONSOLE_CLIENT_CERT_REQUIRED');
    expect(signing).not.toHaveBeenCalled();
    expect(await serialAtConsole(w.agentId)).toBe(new X509Certificate(renewed.cert).serialNumber.toLowerCase().replace(/^0+/, ''));
    expect((await poll(renewed)).status).toBe(200);
  });

  it("a retired CA's certificate is refused, though it was this workstation's current certificate", async () => {
    const stayed = await enroll();
    const rotated = await op('ca-rotate');
    expect(rotated).toMatchObject({ next: expect.any(String) });
    // During the overlap both CAs' certificates are accepted; renewals come from the new CA, with both CAs to pin.
    expect((await poll(stayed)).status).toBe(200);
    const mover = await enroll();
    const offered = await poll(mover);
    expect(offered.status).toBe(200);
    const moverKey = newAgentKey();
    const moved = await renew(mover, csrFor(moverKey, mover.agentId));
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    const newCa = readFileSync(join(dataDir, 'ca', 'new-ca-cert.pem'), 'utf8');
    expect(new X509Certificate(moved.body.certificate).verify(new X509Certificate(newCa).publicKey)).toBe(true);
    expect(moved.body.caCertificates).toContain(newCa.trim());

    await op('ca-retire', { force: true });
    const refused = await poll(stayed);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('CONSOLE_CLIENT_CERT_REQUIRED');
    // Nor can it renew its way back in.
    const back = await renew(stayed, csrFor(newAgentKey(), stayed.agentId));
    expect(back.status).toBe(401);
    expect((await poll({ agentId: mover.agentId, cert: moved.body.certificate, key: moverKey })).status).toBe(200);
  });
});
