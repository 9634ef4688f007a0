import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { AGENT_CERT_DAYS } from '../../console/src/pki/console-ca.ts';
import { randomSerial } from '../../console/src/pki/generate-key.ts';
import { nativeRsaSigner } from '../../console/src/pki/native-signer.ts';

export interface IssuedAgentCert {
  certPem: string;
  /** As the console stores it (lower case, no leading zeros). */
  serial: string;
}

/**
 * Client certificates for simulated agents, shaped exactly as the console CA's `signAgentCsr` issues them (CN = agent
 * id, OU sandgate-agent, clientAuth, 365 days, issued by `<dataDir>/ca`, signed natively as the console does), issued
 * in this process rather than through enrollment so that 10,000 agents exist in seconds. All simulated agents share
 * one key pair (the console checks an agent's CN and serial, not that keys differ), which saves 10,000 key generations.
 */
export function agentCertIssuer(dataDir: string): { keyPem: string; issue(agentId: string): IssuedAgentCert } {
  const caCert = forge.pki.certificateFromPem(readFileSync(join(dataDir, 'ca', 'ca-cert.pem'), 'utf8'));
  const caKey = nativeRsaSigner(readFileSync(join(dataDir, 'ca', 'ca-key.pem'), 'utf8'));
  const aki = caCert.generateSubjectKeyIdentifier().getBytes();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const fk = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.setRsaPublicKey(fk.n, fk.e);
  return {
    keyPem,
    issue(agentId) {
      const cert = forge.pki.createCertificate();
      cert.publicKey = publicKey;
      cert.serialNumber = randomSerial();
      cert.validity.notBefore = new Date(Date.now() - 3600_000);
      cert.validity.notAfter = new Date(Date.now() + AGENT_CERT_DAYS * 86_400_000);
      cert.setSubject([
        { name: 'commonName', value: agentId },
        { name: 'organizationalUnitName', value: 'sandgate-agent' },
      ]);
      cert.setIssuer(caCert.subject.attributes);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', clientAuth: true },
        { name: 'authorityKeyIdentifier', keyIdentifier: aki },
      ]);
      cert.sign(caKey, forge.md.sha256.create());
      return { certPem: forge.pki.certificateToPem(cert), serial: cert.serialNumber.toLowerCase().replace(/^0+/, '') };
    },
  };
}
