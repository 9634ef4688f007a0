import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { loadOrCreateCa } from '#console/pki/console-ca.ts';
import { generateRsaKey } from '#console/pki/generate-key.ts';
import { nativeRsaSigner } from '#console/pki/native-signer.ts';

describe("the console CA's signatures", () => {
  it('an agent certificate issued from a CSR verifies against the CA and names the agent', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandgate-ca-'));
    try {
      const ca = loadOrCreateCa(dir);
      const key = generateRsaKey();
      const csr = forge.pki.createCertificationRequest();
      csr.publicKey = key.forgePublic;
      csr.setSubject([{ name: 'commonName', value: 'ignored' }]);
      csr.sign(key.forgeKey, forge.md.sha256.create());
      const issued = ca.signAgentCsr(forge.pki.certificationRequestToPem(csr), 'agent-42');
      const cert = new X509Certificate(issued.pem);
      const caCert = new X509Certificate(ca.certPem);
      expect(cert.checkIssued(caCert)).toBe(true);
      expect(cert.verify(caCert.publicKey)).toBe(true);
      expect(cert.subject).toContain('CN=agent-42');
      // And the server certificate, issued the same way, too.
      expect(new X509Certificate(ca.server.certPem).verify(caCert.publicKey)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a digest other than SHA-256 rather than produce a signature that says something else', () => {
    const signer = nativeRsaSigner(generateRsaKey().privateKeyPem);
    const cert = forge.pki.createCertificate();
    cert.publicKey = generateRsaKey().forgePublic;
    expect(() => cert.sign(signer, forge.md.sha1.create())).toThrow(/only SHA-256/);
  });
});
