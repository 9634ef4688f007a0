import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labErrorSchema, labHealthSchema } from '@sandgate/shared';
import { startLab, type RunningLab } from '#lab/lab-server.ts';
import { makeCa, makeLeaf } from '#test-helpers/pki.ts';
import { labRequest, uploadObject } from '#test-helpers/lab-request.ts';

// Who the lab serves: clients with its token, and (when given a client CA) clients with a certificate from that CA.

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sandgate-lab-auth-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function withLab<T>(name: string, opts: { clientCa?: string }, fn: (lab: RunningLab, dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = join(root, name);
  const lab = await startLab({ port: 0, dataDir, ...opts });
  try {
    return await fn(lab, dataDir);
  } finally {
    await lab.close();
  }
}

describe('sandgate-lab client token', () => {
  it('is made on first start beside the certificate, private to its user, and kept across restarts', async () => {
    const first = await withLab('token', {}, async (lab, dataDir) => {
      expect(lab.tokenPath).toBe(join(dataDir, 'tls', 'token'));
      expect(statSync(lab.tokenPath).mode & 0o777).toBe(0o600);
      expect(readFileSync(lab.tokenPath, 'utf8').trim()).toBe(lab.token);
      expect(lab.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      return lab.token;
    });
    await withLab('token', {}, async (lab) => expect(lab.token).toBe(first));
  });

  it('serves the health answer only with the token', async () => {
    await withLab('health', {}, async (lab) => {
      expect(labHealthSchema.parse((await labRequest(lab, 'GET', '/api/v1/health')).body).server).toBe('sandgate-lab');
      const refused = await labRequest(lab, 'GET', '/api/v1/health', { token: null });
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="sandgate-lab"');
      expect(labErrorSchema.parse(refused.body).error.code).toBe('UNAUTHENTICATED');
    });
  });

  it('refuses an upload without the token before reading a byte of it', async () => {
    await withLab('upload', {}, async (lab, dataDir) => {
      const r = await uploadObject(lab, Buffer.from('sent without a token'), { token: null, expectContinue: true });
      expect(r.status).toBe(401);
      expect(r.continued).toBe(false);
      expect(labErrorSchema.parse(r.body).error.code).toBe('UNAUTHENTICATED');
      expect(readdirSync(join(dataDir, 'incoming'))).toEqual([]);
    });
  });

  it('refuses to start with a token file others can read, or one that is a link', async () => {
    const loose = join(root, 'loose');
    mkdirSync(join(loose, 'tls'), { recursive: true });
    writeFileSync(join(loose, 'tls', 'token'), 'a'.repeat(43) + '\n');
    chmodSync(join(loose, 'tls', 'token'), 0o644);
    await expect(startLab({ port: 0, dataDir: loose })).rejects.toMatchObject({
      code: 'LAB_CREDENTIAL_INVALID',
      message: expect.stringContaining('chmod 600'),
    });

    const linked = join(root, 'linked');
    mkdirSync(join(linked, 'tls'), { recursive: true });
    writeFileSync(join(root, 'elsewhere'), 'b'.repeat(43), { mode: 0o600 });
    symlinkSync(join(root, 'elsewhere'), join(linked, 'tls', 'token'));
    await expect(startLab({ port: 0, dataDir: linked })).rejects.toMatchObject({
      code: 'LAB_CREDENTIAL_INVALID',
      message: expect.stringContaining('symbolic link'),
    });
  });
});

describe('sandgate-lab with a client CA (mutual TLS)', () => {
  it('serves a client certificate the CA issued without the token, and refuses one from another CA', async () => {
    const ca = makeCa('Sandgate Agents CA');
    const caPath = join(root, 'agents-ca.pem');
    writeFileSync(caPath, ca.cert);
    const agent = makeLeaf(ca, { client: true });
    const stranger = makeLeaf(makeCa('Someone Else CA'), { client: true });
    await withLab('mtls', { clientCa: caPath }, async (lab) => {
      const served = await labRequest(lab, 'GET', '/api/v1/health', { token: null, tls: { cert: agent.cert, key: agent.key } });
      expect(served.status).toBe(200);
      const refused = await labRequest(lab, 'GET', '/api/v1/health', { token: null, tls: { cert: stranger.cert, key: stranger.key } });
      expect(refused.status).toBe(401);
      expect(labErrorSchema.parse(refused.body).error.code).toBe('UNAUTHENTICATED');
      // The token still works for clients without a certificate.
      expect((await labRequest(lab, 'GET', '/api/v1/health')).status).toBe(200);
    });
  });

  it('refuses to start with a client CA file that holds no certificate', async () => {
    const bad = join(root, 'not-a-ca.pem');
    writeFileSync(bad, 'hello');
    await expect(startLab({ port: 0, dataDir: join(root, 'bad-ca'), clientCa: bad })).rejects.toMatchObject({
      code: 'LAB_CREDENTIAL_INVALID',
    });
  });
});
