import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureLabCertificate } from '#lab/tls/lab-certificate.ts';
import { silentLogger } from '#lab/log.ts';

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

  it('names the address the lab is told to bind, IPv6 included, so an agent reaching it there accepts it', async () => {
    const c = await ensureLabCertificate(join(dir, 'tls'), silentLogger, 'fd00::5');
    const x = new X509Certificate(c.cert);
    expect(x.checkIP('fd00::5')).toBeDefined();
    expect(x.checkIP('::1')).toBeDefined();
    expect(x.checkHost('localhost')).toBe('localhost');
    // A wildcard bind is not an address an agent can use: nothing is added for it.
    const wild = await ensureLabCertificate(join(dir, 'wild'), silentLogger, '::');
    expect(new X509Certificate(wild.cert).subjectAltName).not.toMatch(/IP Address:0:0:0:0:0:0:0:0(,|$)/);
  });

  it('keeps its certificate when started again on an address it already names, and makes a new one for an address it does not', async () => {
    const first = await ensureLabCertificate(join(dir, 'tls'), silentLogger, '::1');
    expect((await ensureLabCertificate(join(dir, 'tls'), silentLogger, '0:0:0:0:0:0:0:1')).cert).toBe(first.cert);
    expect((await ensureLabCertificate(join(dir, 'tls'), silentLogger, '127.0.0.1')).cert).toBe(first.cert);
    const moved = await ensureLabCertificate(join(dir, 'tls'), silentLogger, '192.0.2.7');
    expect(moved.created).toBe(true);
    expect(new X509Certificate(moved.cert).checkIP('192.0.2.7')).toBeDefined();
  });
});
