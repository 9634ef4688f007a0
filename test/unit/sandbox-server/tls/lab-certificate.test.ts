import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureLabCertificate } from '../../../../sandbox-server/src/tls/lab-certificate.ts';
import { silentLogger } from '../../../../sandbox-server/src/log.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-lab-tls-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('lab certificate', () => {
  it('makes a self-signed certificate for loopback and this host, with a private key only the owner can read', async () => {
    const c = await ensureLabCertificate(join(dir, 'tls'), silentLogger);
    expect(c.created).toBe(true);
    const x = new X509Certificate(readFileSync(c.certPath));
    for (const name of ['DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1']) expect(x.subjectAltName).toContain(name);
    if (/^[a-zA-Z0-9.-]+$/.test(hostname())) expect(x.subjectAltName).toContain(`DNS:${hostname()}`);
    expect(x.issuer).toBe(x.subject);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(statSync(c.keyPath).mode & 0o777).toBe(0o600);
  });

  it('reuses the same certificate on the next start, so the agent pin stays valid', async () => {
    const first = await ensureLabCertificate(join(dir, 'tls'), silentLogger);
    const second = await ensureLabCertificate(join(dir, 'tls'), silentLogger);
    expect(second.created).toBe(false);
    expect(second.cert).toBe(first.cert);
  });

  it('replaces a certificate that does not go with its key', async () => {
    const first = await ensureLabCertificate(join(dir, 'tls'), silentLogger);
    writeFileSync(first.certPath, 'garbage');
    const second = await ensureLabCertificate(join(dir, 'tls'), silentLogger);
    expect(second.created).toBe(true);
    expect(second.cert).not.toBe(first.cert);
  });
});
